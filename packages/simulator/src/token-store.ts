import { randomBytes } from 'node:crypto';

/** The simulated org's id, in the 18-character form tokens and identity URLs carry. */
export const orgId = '00DSIM000000001AAA';
/** The run-as user's id. */
export const userId = '005SIM000000001AAA';

/**
 * Access tokens the token endpoint issued.
 *
 * State: token → issue time. Transitions: `issue` adds one; `isValid` answers false (and forgets
 * the token) once it is older than the TTL; `expireAll` forgets every token at once, as a revoked
 * session or an org-wide timeout would. Expired tokens are swept when many pile up, so a client
 * minting a token per call cannot grow the map without bound.
 */
export class TokenStore {
  #issuedAt = new Map<string, number>();

  issue(nowMs: number, ttlMs: number): string {
    if (this.#issuedAt.size >= 10_000) this.#sweep(nowMs, ttlMs);
    // Salesforce session ids start with the org id and '!'; the rest is opaque.
    const token = `${orgId}!${randomBytes(48).toString('base64url')}`;
    this.#issuedAt.set(token, nowMs);
    return token;
  }

  isValid(token: string, nowMs: number, ttlMs: number): boolean {
    const issuedAt = this.#issuedAt.get(token);
    if (issuedAt === undefined) return false;
    if (nowMs - issuedAt > ttlMs) {
      this.#issuedAt.delete(token);
      return false;
    }
    return true;
  }

  expireAll(): void {
    this.#issuedAt.clear();
  }

  #sweep(nowMs: number, ttlMs: number): void {
    for (const [token, issuedAt] of this.#issuedAt) {
      if (nowMs - issuedAt > ttlMs) this.#issuedAt.delete(token);
    }
  }
}
