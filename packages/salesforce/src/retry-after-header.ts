/** Longest delay a `Retry-After` is taken at its word for (a day); beyond, it is treated as noise. */
const RETRY_AFTER_MAX_MS = 86_400_000;

/**
 * `Retry-After` as a delay in milliseconds: delta-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`, measured from `nowMs`; a date in the past gives 0).
 * `undefined` when absent or unparseable. Never throws.
 */
export function parseRetryAfterMs(
  value: string | string[] | undefined,
  nowMs: number,
): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;

  let delayMs: number;
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    delayMs = Math.round(Number(trimmed) * 1000);
  } else {
    // Only something that looks like a date: Date.parse also accepts bare numbers like "-1".
    if (!/[a-z]/i.test(trimmed)) return undefined;
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    delayMs = Math.max(0, at - nowMs);
  }
  return Number.isFinite(delayMs) && delayMs <= RETRY_AFTER_MAX_MS ? delayMs : undefined;
}
