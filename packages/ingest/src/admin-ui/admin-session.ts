import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The admin UI's login cookie (pure). Browsers cannot send a bearer header on their own, so a
 * person logs in once with an admin token and gets a cookie:
 *
 *     fd_admin=v1.<expiresAtMs>.<base64url HMAC-SHA256(key = the token, "fd-admin-session:v1:<expiresAtMs>")>
 *
 * The cookie holds no token and no server state: any ingest replica checks it against the tokens
 * it accepts, a restart keeps people logged in, and removing a token from the configuration logs
 * out everyone who logged in with it. It is HttpOnly (no script reads it), SameSite=Strict (no
 * other site's page can send it), Path=/admin, Secure on HTTPS, and expires after `ttlMs`.
 */

export const SESSION_COOKIE = 'fd_admin';
const VERSION = 'v1';

function mac(token: string, expiresAtMs: number): Buffer {
  return createHmac('sha256', token).update(`fd-admin-session:${VERSION}:${expiresAtMs}`).digest();
}

/** The cookie value for a login with `token`, valid until `expiresAtMs`. */
export function sessionValue(token: string, expiresAtMs: number): string {
  return `${VERSION}.${expiresAtMs}.${mac(token, expiresAtMs).toString('base64url')}`;
}

/**
 * True when `value` was made from one of `tokens`, has not expired at `nowMs`, and does not claim
 * to last longer than `ttlMs` from now (a forged far-future time is refused). Every token is
 * compared, in constant time.
 */
export function verifySession(
  value: string | undefined,
  tokens: readonly string[],
  nowMs: number,
  ttlMs: number,
): boolean {
  if (value === undefined) return false;
  const match = /^v1\.(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return false;
  const expiresAtMs = Number(match[1]);
  if (!(expiresAtMs > nowMs) || expiresAtMs > nowMs + ttlMs) return false;
  const presented = Buffer.from(match[2] as string, 'base64url');
  if (presented.length !== 32) return false;
  let ok = false;
  for (const token of tokens) ok = timingSafeEqual(mac(token, expiresAtMs), presented) || ok;
  return ok;
}

/** The value of cookie `name` in a Cookie header (pure); undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header of a login (or, with `maxAgeSeconds` 0, of a logout). */
export function sessionCookie(
  value: string,
  options: { path: string; maxAgeSeconds: number; secure: boolean },
): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
