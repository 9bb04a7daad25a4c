import { randomBytes } from 'node:crypto';
import type { Logger, RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import type { AccessToken, TokenMinter, TokenSource } from '../types.js';
import { releaseLock } from './fleet-scripts.js';

/**
 * One Salesforce access token for the whole fleet, kept in Redis (`{prefix}:token`).
 *
 * Tokens carry no lifetime; a 401 says one expired. The worker that sees it asks for a refresh of
 * the token it used: if Redis already holds a different one (another worker refreshed), that one is
 * taken with no request; otherwise the first worker to take the lock (`SET NX PX`) mints a token and
 * stores it, and the others poll Redis until it appears. So an expiry costs the org one token
 * request, however many workers and calls saw the 401. Within a process, concurrent callers share
 * one lookup. If the lock holder dies, its lock expires and another worker mints.
 *
 * The token sits in Redis next to the triggers themselves: protect Redis (password, TLS) accordingly.
 */
export class FleetTokenSource implements TokenSource {
  #current: AccessToken | undefined;
  #loading: Promise<AccessToken> | undefined;
  #mints = 0;
  readonly #holder = randomBytes(8).toString('hex');

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly minter: TokenMinter,
    private readonly logger: Logger,
    private readonly options: {
      /** The lock of the worker minting a token: another one mints if it holds it longer. */
      lockMs: number;
      /** How long the others wait for the new token before they give up. */
      waitMs: number;
      /** How long a token stays in Redis. */
      ttlMs: number;
      onMint?: () => void;
    },
  ) {}

  get mints(): number {
    return this.#mints;
  }

  getToken(): Promise<AccessToken> {
    if (this.#current) return Promise.resolve(this.#current);
    return this.#load(undefined);
  }

  refresh(stale: AccessToken): Promise<AccessToken> {
    if (this.#current && this.#current.accessToken !== stale.accessToken)
      return Promise.resolve(this.#current);
    return this.#load(stale);
  }

  #load(stale: AccessToken | undefined): Promise<AccessToken> {
    this.#loading ??= this.#fetch(stale).finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #fetch(stale: AccessToken | undefined): Promise<AccessToken> {
    const { lockMs } = this.options;
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      const shared = parse(await this.redis.get(this.keys.token));
      if (shared && shared.accessToken !== stale?.accessToken) {
        this.#current = shared;
        return shared;
      }
      const won = await this.redis.set(this.keys.tokenLock, this.#holder, 'PX', lockMs, 'NX');
      if (won === 'OK') {
        try {
          const again = parse(await this.redis.get(this.keys.token));
          if (again && again.accessToken !== stale?.accessToken) {
            this.#current = again;
            return again;
          }
          const token = await this.minter.mintToken();
          this.#mints++;
          this.options.onMint?.();
          await this.redis.set(this.keys.token, JSON.stringify(token), 'PX', this.options.ttlMs);
          this.#current = token;
          this.logger.info(
            { instanceUrl: token.instanceUrl },
            'minted a new Salesforce token for the fleet',
          );
          return token;
        } finally {
          await releaseLock
            .run(this.redis, { lock: this.keys.tokenLock }, { holder: this.#holder })
            .catch(() => false);
        }
      }
      if (Date.now() > deadline) {
        throw new Error('timed out waiting for another worker to mint a Salesforce token');
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function parse(raw: string | null): AccessToken | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as AccessToken;
    return typeof value.accessToken === 'string' && typeof value.instanceUrl === 'string'
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}
