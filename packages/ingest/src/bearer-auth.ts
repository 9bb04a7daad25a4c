import { createHash, timingSafeEqual } from 'node:crypto';
import { type Config, ConfigError } from '@flow-dispatcher/shared';

/**
 * The bearer tokens ingest accepts. A presented token is hashed and compared with every accepted
 * token's hash by `timingSafeEqual` (equal-length digests; no early exit), so neither the time
 * taken nor the answer tells which part was wrong, or how much of a token matched.
 */
export class BearerTokens {
  readonly #digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.#digests = tokens.map(digest);
  }

  /** True when `authorization` is `Bearer <an accepted token>` (scheme case-insensitive). */
  accepts(authorization: string | undefined): boolean {
    const presented = bearerToken(authorization);
    const candidate = digest(presented ?? '');
    let match = false;
    for (const accepted of this.#digests) {
      // `||` after the call: every comparison runs.
      match = timingSafeEqual(accepted, candidate) || match;
    }
    return match && presented !== undefined;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined (pure). */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(authorization);
  return match?.[1];
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Ingest refuses to start without tokens unless authentication is explicitly off
 * (`INGEST_AUTH=none`): a ConfigError naming INGEST_TOKENS (the CLI exits 2 with it).
 */
export function requireIngestAuth(config: Pick<Config, 'ingest'>): void {
  if (!config.ingest.authDisabled && config.ingest.tokens.length === 0) {
    throw new ConfigError(
      'INGEST_TOKENS',
      'is required to start ingest: set comma-separated bearer tokens (16+ characters each), ' +
        'or INGEST_AUTH=none to run without authentication',
    );
  }
}
