import type { AccessToken, TokenMinter, TokenSource } from '../types.js';

/**
 * A process-local `TokenSource` over a `TokenMinter`: one current token, one mint at a time.
 *
 * States: `empty` (no token yet) → `minting` → `holding(token)`; `refresh(stale)` while
 * `holding(stale)` → `minting` → `holding(next)`. A failed mint returns to the previous state
 * (`empty` or `holding(old)`) and rejects every caller that shared it; the next call mints again.
 *
 * - `getToken()` is lazy: nothing is minted before the first call. While a mint is in flight it
 *   waits for that mint instead of handing out a token someone just saw rejected.
 * - `refresh(stale)` mints only when `stale` is still the current token; a caller whose stale token
 *   was already replaced gets the replacement for free, and concurrent callers share one request.
 *
 * Trade-off: single-flight is per process. A fleet-wide source (Redis-shared token, one mint for
 * every worker) can wrap the same `TokenMinter` behind this same interface.
 */
export class SingleFlightTokenSource implements TokenSource {
  readonly #minter: TokenMinter;
  #current: AccessToken | undefined;
  #inFlight: Promise<AccessToken> | undefined;
  #mints = 0;

  constructor(minter: TokenMinter) {
    this.#minter = minter;
  }

  get mints(): number {
    return this.#mints;
  }

  getToken(): Promise<AccessToken> {
    if (this.#inFlight) return this.#inFlight;
    if (this.#current) return Promise.resolve(this.#current);
    return this.#mint();
  }

  refresh(stale: AccessToken): Promise<AccessToken> {
    if (this.#inFlight) return this.#inFlight;
    const current = this.#current;
    if (current && current.accessToken !== stale.accessToken) return Promise.resolve(current);
    return this.#mint();
  }

  #mint(): Promise<AccessToken> {
    this.#mints += 1;
    const flight = (async () => {
      try {
        const token = await this.#minter.mintToken();
        this.#current = token;
        return token;
      } finally {
        this.#inFlight = undefined;
      }
    })();
    this.#inFlight = flight;
    return flight;
  }
}
