import { createRedis } from '@flow-dispatcher/shared';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import type { Redis } from 'ioredis';

/**
 * A private `redis-server` for one run (no persistence, empty at start), with Redis's own CPU
 * counters. Every run gets a fresh one, so no run inherits another's keys, memory or peak RSS.
 */
export class PrivateRedis {
  private constructor(
    readonly server: RedisServerProcess,
    /** The harness's own connection: INFO, pause/resume, progress polls, reading records. */
    readonly client: Redis,
  ) {}

  static async start(): Promise<PrivateRedis> {
    const server = await startRedisServer();
    const client = createRedis(server.url, { connectionName: 'bench-harness' });
    await client.ping();
    return new PrivateRedis(server, client);
  }

  get url(): string {
    return this.server.url;
  }

  get pid(): number {
    return this.server.child.pid ?? -1;
  }

  /** used_cpu_user + used_cpu_sys of INFO cpu, in ms: what Redis itself says it spent. */
  async cpuMs(): Promise<number> {
    return parseRedisCpuMs(await this.client.info('cpu'));
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    await this.server.stop();
  }
}

/** Sums used_cpu_user and used_cpu_sys (seconds) of an INFO cpu answer, in ms (pure). */
export function parseRedisCpuMs(info: string): number {
  let seconds = 0;
  for (const line of info.split(/\r?\n/)) {
    const match = /^used_cpu_(user|sys):([\d.]+)$/.exec(line.trim());
    if (match?.[2]) seconds += Number(match[2]);
  }
  return seconds * 1000;
}
