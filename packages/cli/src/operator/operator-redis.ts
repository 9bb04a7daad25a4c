import type { RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import { type Config, defaults, loadConfig } from '@flow-dispatcher/shared/config';

/**
 * What an operator command needs: the configuration, one Redis connection (a server or a
 * Cluster), the key names (partition 0's, which know every queue partition).
 */
export interface OperatorContext {
  config: Config;
  redis: RedisConnection;
  keys: RedisKeys;
  close(): Promise<void>;
}

/**
 * Loads the configuration (a ConfigError exits 2) and connects to Redis, failing within
 * `connectTimeoutMs` (default `defaults.operatorConnectTimeoutMs`) with one line naming the server
 * (exit 1) instead of retrying forever. Once connected, a command that loses Redis fails after a
 * few tries; long-running commands (`stats --watch`, `drain`) catch that and try again on their
 * next round. The Redis code (shared's main entry point: ioredis, bullmq) is loaded once the
 * configuration is read, so that a configuration error stays quick.
 */
export async function openOperatorContext(
  options: { connectTimeoutMs?: number; config?: Config } = {},
): Promise<OperatorContext> {
  const config = options.config ?? loadConfig();
  const shared = await import('@flow-dispatcher/shared');
  const redis = shared.connectRedis(config.redis.url, {
    connectionName: 'fd-cli',
    lazyConnect: true,
    maxRetriesPerRequest: 3,
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  const timeoutMs = options.connectTimeoutMs ?? defaults.operatorConnectTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const reason = lastError?.message ?? (err instanceof Error ? err.message : String(err));
    throw new Error(`cannot reach Redis at ${shared.redisUrlLabel(config.redis.url)}: ${reason}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
  return {
    config,
    redis,
    keys: new shared.RedisKeys(config.redis.prefix, config.redis.partitions),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
