import { connectRedis, type Logger, type RedisConnection } from '@flow-dispatcher/shared';

/**
 * Ingest's Redis connection: it fails commands at once while Redis is away (no offline queue, no
 * retry of commands cut off by a disconnect), so a request gets its 503 now rather than a 202
 * later, and a command waits at most `commandTimeoutMs`. It logs one line when Redis goes away and
 * one when it is back (ioredis reports an error per reconnect attempt).
 */
export function connectIngestRedis(
  url: string,
  commandTimeoutMs: number,
  logger: Logger,
  closing: () => boolean,
): RedisConnection {
  const redis = connectRedis(url, {
    connectionName: 'fd-ingest',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
  });
  let down = false;
  const lost = (err?: Error) => {
    if (down || closing()) return;
    down = true;
    logger.warn(
      err ? { err: { message: err.message } } : {},
      'redis unreachable: answering 503 until it is back',
    );
  };
  redis.on('error', lost);
  redis.on('close', () => lost());
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('redis reachable again');
  });
  return redis;
}

/** Waits up to `timeoutMs` for the first connection; true once Redis is ready. */
export async function firstConnection(redis: RedisConnection, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(redis.status === 'ready'), timeoutMs);
    redis.on('ready', onReady);
  });
}
