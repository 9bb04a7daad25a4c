import { startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';

/**
 * Integration tests need a Redis. They use TEST_REDIS_URL, else the one on 127.0.0.1:6379; when
 * neither answers, this starts a private redis-server from PATH for the whole run, so `pnpm test`
 * works on a machine that has Redis installed but not running.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  const answers = await probe
    .connect()
    .then(() => probe.ping())
    .then(
      (reply) => reply === 'PONG',
      () => false,
    );
  probe.disconnect();
  if (answers) {
    process.env.TEST_REDIS_URL = url;
    return async () => {};
  }
  const server = await startRedisServer();
  process.env.TEST_REDIS_URL = server.url;
  return () => server.stop();
}
