import { scrubText } from '@flow-dispatcher/shared';

/** Input names that hold personal data: the UI shows their values masked whatever they are. */
const PERSONAL = new Set(['EmailAddress', 'TelephoneNumber']);

/**
 * A copy of a chunk job's data with personal data masked (pure), for the admin UI: people look
 * at queues on shared screens; `flow-dispatcher dlq show` prints a dead trigger's input in full
 * when it is needed. The values of personal inputs (EmailAddress, TelephoneNumber and the names
 * given) are masked whole; in every other string, wherever it sits (another input, an idempotency
 * key, a trigger id), e-mail addresses, international phone numbers (`+` and at least 7 digits)
 * and tokens are masked as the logs mask them (scrubText). Nested values are walked to a depth of
 * 10; deeper ones are masked whole.
 */
export function maskPersonalData(value: unknown, extraNames: readonly string[] = []): unknown {
  const names = extraNames.length ? new Set([...PERSONAL, ...extraNames]) : PERSONAL;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return scrubText(v);
    if (v === null || typeof v !== 'object') return v;
    if (depth > 10) return '[masked]';
    if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = Object.create(null);
    for (const [key, inner] of Object.entries(v)) {
      out[key] =
        names.has(key) && inner !== null && inner !== '' ? '[masked]' : walk(inner, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}
