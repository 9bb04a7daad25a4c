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
      const created = new Queue(flow, { connection: this.connection, prefix: this.bullPrefix });
      // Errors reach the caller through the failed command; keep the emitter from throwing.
      created.on('error', () => {});
      this.#queues.set(flow, created);
      // A queue whose start-up failed (Redis went away during it) stays broken: forget it, so the
      // next write builds a fresh one.
      created.waitUntilReady().catch(() => {
        if (this.#queues.get(flow) === created) this.#queues.delete(flow);
        void created.close().catch(() => {});
      });
      queue = created;
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}
