import type { Cluster } from 'ioredis';
import { parseRedisCpuMs } from '../../private-redis.js';

/** CPU (used_cpu_user + used_cpu_sys, ms) of every master so far, by `host:port`. */
export async function masterCpuMs(admin: Cluster): Promise<Record<string, number>> {
  const cpu: Record<string, number> = {};
  for (const node of admin.nodes('master')) {
    cpu[`${node.options.host}:${node.options.port}`] = parseRedisCpuMs(await node.info('cpu'));
  }
  return cpu;
}

/** Memory used by every master together (`used_memory`), in bytes. */
export async function masterMemoryBytes(admin: Cluster): Promise<number> {
  let total = 0;
  for (const node of admin.nodes('master')) {
    total += Number(/^used_memory:(\d+)/m.exec(await node.info('memory'))?.[1] ?? 0);
  }
  return total;
}

/** The master (`host:port`) serving each key. */
export async function mastersOf(admin: Cluster, keys: readonly string[]): Promise<string[]> {
  const slots = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  return Promise.all(
    keys.map(async (key) => {
      const slot = Number(await admin.cluster('KEYSLOT', key));
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      return range ? `${range[2][0]}:${range[2][1]}` : '?';
    }),
  );
}
