import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isConfigError } from '../config/config-error.js';
import { connectRedis, createRedis, isCluster } from './redis-connection.js';

// lazyConnect: the connections are built and inspected, never opened.
describe('connectRedis', () => {
  it('opens one server for a single-host URL, as before', () => {
    const redis = connectRedis('redis://:pw@127.0.0.1:6390/2', { lazyConnect: true });
    expect(redis).toBeInstanceOf(Redis);
    expect(isCluster(redis)).toBe(false);
    const { options } = redis as Redis;
    expect(options).toMatchObject({
      port: 6390,
      db: 2,
      password: 'pw',
      maxRetriesPerRequest: null,
    });
    redis.disconnect();
  });

  it('opens a Cluster for several hosts, with the password and what BullMQ needs on every node', () => {
    const redis = connectRedis('rediss://app:pw@10.0.0.1:7000,10.0.0.2:7001', {
      lazyConnect: true,
      connectionName: 'fd-test',
      enableOfflineQueue: false,
    });
    expect(redis).toBeInstanceOf(Cluster);
    expect(isCluster(redis)).toBe(true);
    const cluster = redis as Cluster;
    expect(cluster.options).toMatchObject({
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      redisOptions: {
        username: 'app',
        password: 'pw',
        tls: {},
        maxRetriesPerRequest: null,
        connectionName: 'fd-test',
      },
    });
    expect(cluster.options.redisOptions).not.toHaveProperty('enableOfflineQueue');
    redis.disconnect();
  });

  it('follows a Sentinel master by name', () => {
    const redis = connectRedis('redis+sentinel://:pw@s1:26379,s2:26380/main/1', {
      lazyConnect: true,
    }) as Redis;
    expect(redis).toBeInstanceOf(Redis);
    expect(redis.options).toMatchObject({
      sentinels: [
        { host: 's1', port: 26_379 },
        { host: 's2', port: 26_380 },
      ],
      name: 'main',
      password: 'pw',
      db: 1,
      maxRetriesPerRequest: null,
    });
    redis.disconnect();
  });

  it('refuses a bad URL with a ConfigError, and createRedis refuses a cluster', () => {
    expect(() => connectRedis('memcached://x')).toThrow(/REDIS_URL/);
    let error: unknown;
    try {
      createRedis('redis://a:7000,b:7001', { lazyConnect: true });
    } catch (err) {
      error = err;
    }
    expect(isConfigError(error)).toBe(true);
  });
});
