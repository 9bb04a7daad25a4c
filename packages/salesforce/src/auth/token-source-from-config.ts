import {
  type Config,
  ConfigError,
  defaults,
  type Logger,
  type Metrics,
  type RedisConnection,
  RedisKeys,
  requireSalesforceAuth,
} from '@flow-dispatcher/shared';
import { isSalesforceAuthError } from '../errors.js';
import { FleetTokenSource } from '../fleet/fleet-token-source.js';
import type { TokenMinter, TokenSource } from '../types.js';
import { ClientCredentialsTokenMinter } from './client-credentials-token-minter.js';
import { JwtBearerTokenMinter, loadPrivateKey } from './jwt-bearer-token-minter.js';
import { SingleFlightTokenSource } from './single-flight-token-source.js';
import { StaticTokenSource } from './static-token-source.js';

/**
 * What mints tokens for the configured way of authenticating (client credentials or JWT bearer),
 * or the fixed token (which cannot be refreshed). Throws a ConfigError naming the variable at
 * fault (exit 2), never repeating a secret.
 */
export function tokenMinterFromConfig(config: Config): TokenMinter | StaticTokenSource {
  const auth = requireSalesforceAuth(config);
  const timeoutMs = config.salesforce.connectTimeoutMs + config.salesforce.requestTimeoutMs;
  switch (auth.kind) {
    case 'jwt-bearer': {
      const { privateKeyFile, ...rest } = auth;
      return new JwtBearerTokenMinter({
        ...rest,
        privateKey: privateKeyFromConfig(privateKeyFile),
        timeoutMs,
      });
    }
    case 'client-credentials':
      return new ClientCredentialsTokenMinter({ ...auth, timeoutMs });
    case 'static':
      return new StaticTokenSource(auth);
  }
}

/**
 * The JWT bearer flow's key, read once at start-up. A file that is missing, unreadable or not an
 * RSA key is a configuration mistake like any other: a ConfigError naming SF_PRIVATE_KEY_FILE
 * (exit 2), never the key.
 */
function privateKeyFromConfig(path: string): string {
  try {
    return loadPrivateKey(path);
  } catch (err) {
    if (!isSalesforceAuthError(err)) throw err;
    const reason = err.message.replace(/^SF_PRIVATE_KEY_FILE:?\s*/, '');
    throw new ConfigError('SF_PRIVATE_KEY_FILE', reason, { cause: err });
  }
}

/** A token source for this process alone (single-flight refresh): the CLI's and ingest's. */
export function tokenSourceFromConfig(config: Config): TokenSource {
  const minter = tokenMinterFromConfig(config);
  return minter instanceof StaticTokenSource ? minter : new SingleFlightTokenSource(minter);
}

/**
 * The fleet's token source: one token shared through Redis, refreshed by one process per expiry
 * (a fixed token is used as it is).
 */
export function fleetTokenSourceFromConfig(
  config: Config,
  redis: RedisConnection,
  logger: Logger,
  metrics?: Metrics,
): TokenSource {
  const minter = tokenMinterFromConfig(config);
  if (minter instanceof StaticTokenSource) return minter;
  return new FleetTokenSource(
    redis,
    new RedisKeys(config.redis.prefix, config.redis.partitions),
    minter,
    logger,
    {
      lockMs: defaults.tokenLockMs,
      waitMs: defaults.tokenWaitMs,
      ttlMs: defaults.tokenTtlMs,
      onMint: () => metrics?.tokenRequests.inc(),
    },
  );
}
