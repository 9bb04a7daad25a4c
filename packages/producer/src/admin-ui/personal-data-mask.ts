/** Input names that hold personal data: the UI shows them masked. */
const PERSONAL = new Set(['EmailAddress', 'TelephoneNumber']);

/**
 * A copy of a chunk job's data with personal inputs masked (pure), for the admin UI: people look
 * at queues on shared screens; `flow-dispatcher dlq show` prints a dead trigger's input in full
 * when it is needed. Nested objects are walked to a depth of 10.
 */
export function maskPersonalData(value: unknown, extraNames: readonly string[] = []): unknown {
  const names = extraNames.length ? new Set([...PERSONAL, ...extraNames]) : PERSONAL;
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 10 || v === null || typeof v !== 'object') return v;
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
