import { createRedis, type FlowInput } from '@flow-dispatcher/shared';
import type { Redis } from 'ioredis';
import { benchInput } from '../workload.js';
import { inLanes, type SinkConfig, type TriggerSink } from './trigger-sink.js';

/** A B0 list item: the enqueue time, `|`, the input's JSON (the consumer splices it unparsed). */
export function rawListItem(enqueuedAt: number, input: FlowInput): string {
  return `${enqueuedAt}|${JSON.stringify(input)}`;
}

/**
 * B0's producer: LPUSH onto one Redis list, `perCommand` items per variadic LPUSH and `inFlight`
 * commands pipelined on one connection. Nothing else: no job, no id, no idempotency.
 */
export class RawListSink implements TriggerSink {
  readonly #redis: Redis;

  constructor(private readonly config: Extract<SinkConfig, { kind: 'raw-list' }>) {
    this.#redis = createRedis(config.redisUrl, { connectionName: 'bench-b0-producer' });
  }

  async bulk(tag: string, from: number, count: number): Promise<void> {
    const { perCommand, inFlight, key } = this.config;
    const commands = Math.ceil(count / perCommand);
    await inLanes(commands, inFlight, async (c) => {
      const first = from + c * perCommand;
      const size = Math.min(perCommand, from + count - first);
      const now = Date.now();
      const items: string[] = new Array(size);
      for (let i = 0; i < size; i++) items[i] = rawListItem(now, benchInput(tag, first + i));
      await this.#redis.lpush(key, ...items);
    });
  }

  async one(input: FlowInput): Promise<void> {
    await this.#redis.lpush(this.config.key, rawListItem(Date.now(), input));
  }

  async close(): Promise<void> {
    await this.#redis.quit();
  }
}
