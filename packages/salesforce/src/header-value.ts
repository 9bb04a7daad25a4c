/** Response headers as undici and node:http hand them over (names usually lower-case). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** The value of header `name`, looked up case-insensitively. */
export function headerValue(headers: ResponseHeaders, name: string): string | string[] | undefined {
  const lower = name.toLowerCase();
  const direct = headers[lower];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}
