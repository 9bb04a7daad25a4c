import type { RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import { Queue } from 'bullmq';
import { openTransaction, type RedisTransaction } from './redis-transaction.js';

/**
 * One BullMQ queue per flow and queue partition (the queue name is the flow API name, the
 * partition's key root its prefix), created on first use and sharing the caller's connection.
 * Queue objects are cheap; the connection is the cost.
 */
export class FlowQueues {
  readonly #queues = new Map<string, Queue>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly keys: RedisKeys,
  ) {}

  /** The flow's queue in `partition` (a RangeError for a partition that does not exist). */
  get(flow: string, partition = 0): Queue {
    const id = `${partition}:${flow}`;
    let queue = this.#queues.get(id);
    if (!queue) {
      const prefix = this.keys.forPartition(partition).bullPrefix;
      const created = new Queue(flow, { connection: this.connection, prefix });
      // Errors reach the caller through the failed command; keep the emitter from throwing.
      created.on('error', () => {});
      this.#queues.set(id, created);
      // A queue whose start-up failed (Redis went away during it) stays broken: forget it, so the
      // next write builds a fresh one.
      created.waitUntilReady().catch(() => {
        if (this.#queues.get(id) === created) this.#queues.delete(id);
        void created.close().catch(() => {});
      });
      queue = created;
    }
    return queue;
  }

  /**
   * The flow's queue in `partition` and a MULTI on its connection, opened once the queue is
   * ready: BullMQ's scripts, which `Job.addJob` queues, are then defined on the connection.
   */
  async transaction(
    flow: string,
    partition = 0,
  ): Promise<{ queue: Queue; multi: RedisTransaction }> {
    const queue = this.get(flow, partition);
    await queue.getBackend().client;
    return { queue, multi: openTransaction(this.connection) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}
