import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, type RedisServerProcess, startRedisServer } from './redis-server-process.js';

const run = promisify(execFile);

/** One node of the cluster as CLUSTER NODES reports it. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId: string | undefined;
  /** Slot ranges `[from, to]` (inclusive), for a master. */
  slots: [number, number][];
  failed: boolean;
}

/** A Redis Cluster of private `redis-server` processes on loopback ports (tests, benchmarks). */
export interface RedisClusterProcess {
  /** `redis://127.0.0.1:P1,127.0.0.1:P2,…` (every master), the form REDIS_URL takes. */
  url: string;
  servers: RedisServerProcess[];
  /** The nodes as a live node sees them. */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** The server process listening on `port`. */
  server(port: number): RedisServerProcess;
  /** A plain connection to one node (for CLUSTER and INFO commands); the caller disconnects it. */
  node(port: number): Redis;
  /** Stops every server and removes their directories. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** Replicas per master. @defaultValue 0 */
  replicas?: number;
  /** cluster-node-timeout: how long before a silent master is failed over. @defaultValue 2000 */
  nodeTimeoutMs?: number;
}

/**
 * Starts `masters × (1 + replicas)` redis-servers with `--cluster-enabled yes` (each with its own
 * directory, nodes.conf and bus port), joins them with `redis-cli --cluster create`, and waits
 * until every node says `cluster_state:ok`, knows every other node, and every replica's link to
 * its master is up. `cluster-require-full-coverage no`: while one master is failed over, the other
 * masters keep serving their slots.
 */
export async function startRedisCluster(
  options: RedisClusterOptions = {},
): Promise<RedisClusterProcess> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const total = masters * (1 + replicas);
  const servers: RedisServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop().catch(() => {})));
  };
  try {
    for (let i = 0; i < total; i++) {
      servers.push(
        await startRedisServer({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(await freePort()),
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 2_000),
            '--cluster-require-full-coverage',
            'no',
          ],
        }),
      );
    }
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...servers.map((server) => `127.0.0.1:${server.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    await pollUntil(
      async () => {
        for (const server of servers) {
          const redis = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
          try {
            await redis.connect();
            const info = String(await redis.cluster('INFO'));
            if (!info.includes('cluster_state:ok')) return false;
            if (!info.includes(`cluster_known_nodes:${total}`)) return false;
            const replication = await redis.info('replication');
            if (
              replication.includes('role:slave') &&
              !replication.includes('master_link_status:up')
            )
              return false;
          } finally {
            redis.disconnect();
          }
        }
        return true;
      },
      60_000,
      'the cluster did not become ready in 60 s',
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const node = (port: number) => new Redis(port, '127.0.0.1');
  const handle: RedisClusterProcess = {
    url: `redis://${servers
      .slice(0, masters)
      .map((server) => `127.0.0.1:${server.port}`)
      .join(',')}`,
    servers,
    server(port) {
      const server = servers.find((s) => s.port === port);
      if (!server) throw new Error(`no cluster node on port ${port}`);
      return server;
    },
    node,
    async nodes() {
      // Ask a live node (one that answers); nodes that are down are reported by the others.
      for (const server of servers) {
        const redis = new Redis(server.port, '127.0.0.1', {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        redis.on('error', () => {});
        try {
          await redis.connect();
          return parseClusterNodes(String(await redis.cluster('NODES')));
        } catch {
          // down: try the next one
        } finally {
          redis.disconnect();
        }
      }
      throw new Error('no cluster node answers');
    },
    stop,
  };
  return handle;
}

/** Parses CLUSTER NODES output. */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', masterId = '', , , , , ...slots] = line.split(' ');
      const port = Number(address.split('@')[0]?.split(':').pop());
      const flagList = flags.split(',');
      return {
        id,
        port,
        role: flagList.includes('master') ? 'master' : 'replica',
        masterId: masterId === '-' ? undefined : masterId,
        slots: slots
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [from, to] = range.split('-').map(Number);
            return [from ?? 0, to ?? from ?? 0] as [number, number];
          }),
        failed: flagList.includes('fail') || flagList.includes('fail?'),
      };
    });
}

/** The master (a live one) that serves `slot`. */
export function masterOf(nodes: readonly ClusterNodeInfo[], slot: number): ClusterNodeInfo {
  const master = nodes.find(
    (n) =>
      n.role === 'master' && !n.failed && n.slots.some(([from, to]) => slot >= from && slot <= to),
  );
  if (!master) throw new Error(`no live master serves slot ${slot}`);
  return master;
}

async function pollUntil(ready: () => Promise<boolean>, timeoutMs: number, message: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
