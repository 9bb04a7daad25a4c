import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * One BullMQ queue per flow (the queue name is the flow API name), created on first use and
 * sharing the caller's connection. Queue objects are cheap; the connection is the cost.
 */
export class FlowQueues {
  readonly #queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly bullPrefix: string,
  ) {}

  get(flow: string): Queue {
    let queue = this.#queues.get(flow);
    if (!queue) {
      queue = new Queue(flow, { connection: this.connection, prefix: this.bullPrefix });
      // Errors reach the caller through the failed command; keep the emitter from throwing.
      queue.on('error', () => {});
      this.#queues.set(flow, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}
