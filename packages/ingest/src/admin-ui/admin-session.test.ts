import { describe, expect, it } from 'vitest';
import { readCookie, sessionCookie, sessionValue, verifySession } from './admin-session.js';

const TOKEN = 'admin-token-0123456789';
const OTHER = 'other-token-0123456789';
const HOUR = 3_600_000;
const NOW = 1_750_000_000_000;

describe('admin session cookie', () => {
  it('is accepted for the token that made it until it expires', () => {
    const value = sessionValue(TOKEN, NOW + HOUR);
    expect(value).not.toContain(TOKEN);
    expect(verifySession(value, [OTHER, TOKEN], NOW, 8 * HOUR)).toBe(true);
    expect(verifySession(value, [TOKEN], NOW + HOUR, 8 * HOUR)).toBe(false);
  });

  it('is refused once its token is no longer accepted (rotation logs people out)', () => {
    expect(verifySession(sessionValue(TOKEN, NOW + HOUR), [OTHER], NOW, 8 * HOUR)).toBe(false);
  });

  it('cannot be extended or forged', () => {
    const value = sessionValue(TOKEN, NOW + HOUR);
    const extended = value.replace(String(NOW + HOUR), String(NOW + 2 * HOUR));
    expect(verifySession(extended, [TOKEN], NOW, 8 * HOUR)).toBe(false);
    // A correctly signed cookie that claims more than the session length is refused too.
    expect(verifySession(sessionValue(TOKEN, NOW + 9 * HOUR), [TOKEN], NOW, 8 * HOUR)).toBe(false);
    for (const bad of ['', 'v1..x', `v2.${NOW + HOUR}.${value.split('.')[2]}`, `${value}x`]) {
      expect(verifySession(bad, [TOKEN], NOW, 8 * HOUR)).toBe(false);
    }
    expect(verifySession(undefined, [TOKEN], NOW, 8 * HOUR)).toBe(false);
  });

  it('reads one cookie from a Cookie header', () => {
    expect(readCookie('a=1; fd_admin=v1.2.x; b=2', 'fd_admin')).toBe('v1.2.x');
    expect(readCookie('xfd_admin=1', 'fd_admin')).toBeUndefined();
    expect(readCookie(undefined, 'fd_admin')).toBeUndefined();
  });

  it('is HttpOnly, SameSite=Strict, scoped to the UI, Secure on HTTPS', () => {
    expect(sessionCookie('v', { path: '/admin', maxAgeSeconds: 60, secure: true })).toBe(
      'fd_admin=v; Path=/admin; Max-Age=60; HttpOnly; SameSite=Strict; Secure',
    );
    expect(sessionCookie('', { path: '/admin', maxAgeSeconds: 0, secure: false })).toBe(
      'fd_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict',
    );
  });
});
