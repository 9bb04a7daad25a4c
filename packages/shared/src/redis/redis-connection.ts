import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../config/config-error.js';
import { parseRedisUrl, type RedisTarget } from './redis-url.js';

/**
 * A connection flow-dispatcher works through: one server (or a Sentinel-managed master, which
 * ioredis also serves as a `Redis`), or a Redis Cluster. Both speak the same commands; a Cluster
 * refuses a transaction or script whose keys span slots, which our keys never do (redis-keys.ts).
 */
export type RedisConnection = Redis | Cluster;

/** Whether `connection` is a Redis Cluster client. */
export function isCluster(connection: RedisConnection): connection is Cluster {
  return (connection as { isCluster?: boolean }).isCluster === true;
}

/** Reconnect forever, backing off to at most 2 s between tries. */
const backoff = (times: number) => Math.min(50 * 2 ** Math.min(times, 10), 2_000);

/**
 * Opens a connection for any REDIS_URL form (see parseRedisUrl): one server, Sentinel, or a
 * Redis Cluster. `maxRetriesPerRequest: null` is what BullMQ requires of the connections it blocks
 * on, and it also means a command issued while Redis is away waits for the reconnect instead of
 * failing after a few tries; callers that must answer quickly (ingest) pass their own value.
 * `options` are per-server options; for a cluster, those that belong to the cluster as a whole
 * (offline queue, lazy connect, ready check, retry strategy) are applied to it, the rest to each
 * node's connection. Throws a ConfigError for a bad URL.
 */
export function connectRedis(url: string, options: RedisOptions = {}): RedisConnection {
  const target = parseRedisUrl(url);
  return target.kind === 'cluster' ? openCluster(target, options) : openServer(target, options);
}

/**
 * Opens a connection to one server or a Sentinel-managed master: for tools that need a single
 * node (the demo's and the benchmarks' private redis-server, INFO of one process). Throws a
 * ConfigError for a cluster URL; use connectRedis for the product's connections.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const target = parseRedisUrl(url);
  if (target.kind === 'cluster') {
    throw new ConfigError('REDIS_URL', 'names a Redis Cluster where one server is needed');
  }
  return openServer(target, options);
}

function openServer(
  target: Exclude<RedisTarget, { kind: 'cluster' }>,
  options: RedisOptions,
): Redis {
  const defaults: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: backoff,
  };
  if (target.kind === 'node') return new Redis(target.url, { ...defaults, ...options });
  return new Redis({
    ...defaults,
    sentinels: target.sentinels,
    name: target.masterName,
    username: target.username,
    password: target.password,
    db: target.db,
    ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    // Keep asking the sentinels, backing off like a lost server.
    sentinelRetryStrategy: backoff,
    ...options,
  });
}

function openCluster(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  options: RedisOptions,
): Cluster {
  const { enableOfflineQueue, lazyConnect, enableReadyCheck, retryStrategy, ...perNode } = options;
  const clusterOptions: ClusterOptions = {
    enableReadyCheck: enableReadyCheck ?? true,
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect: lazyConnect ?? false,
    clusterRetryStrategy: retryStrategy === undefined ? backoff : retryStrategy,
    // A failover takes the cluster a few seconds (cluster-node-timeout plus an election):
    // commands wait it out (slots are re-read on every redirection) instead of failing at once.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    maxRedirections: 64,
    redisOptions: {
      maxRetriesPerRequest: null,
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
      ...perNode,
    },
    // Managed clusters with TLS announce hostnames their certificates name: connect by name.
    ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
  };
  return new Cluster(target.nodes, clusterOptions);
}
