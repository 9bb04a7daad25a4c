import { createRedis } from '@flow-dispatcher/shared';
import { startRedisServer } from '@flow-dispatcher/testkit';

/** The Redis the demo uses, and how to let go of it. */
export interface DemoRedis {
  url: string;
  /** Where it came from, for the banner. */
  origin: string;
  release(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const probe = createRedis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * REDIS_URL when set; else a Redis on 127.0.0.1:6379 if one answers; else a private
 * `redis-server` from PATH on a free port (stopped afterwards). Throws a UsageError-like error
 * with instructions when none of these works.
 */
export async function findOrStartRedis(redisUrl: string | undefined): Promise<DemoRedis> {
  if (redisUrl) {
    if (!(await answers(redisUrl)))
      throw Object.assign(new Error('REDIS_URL: Redis does not answer there'), { code: 'USAGE' });
    return { url: redisUrl, origin: 'REDIS_URL', release: async () => {} };
  }
  const local = 'redis://127.0.0.1:6379';
  if (await answers(local))
    return { url: local, origin: 'the Redis on 127.0.0.1:6379', release: async () => {} };
  try {
    const server = await startRedisServer();
    return {
      url: server.url,
      origin: `a private redis-server on port ${server.port}`,
      release: () => server.stop(),
    };
  } catch (err) {
    throw Object.assign(
      new Error(
        `no Redis: set REDIS_URL, run one on 127.0.0.1:6379, or put redis-server on PATH (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) (${err instanceof Error ? err.message : String(err)})`,
      ),
      { code: 'USAGE' },
    );
  }
}
