/** The body parsed as JSON, or `undefined` when it is not JSON (JSON itself never yields undefined). */
export function parseJsonOrUndefined(body: string): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
