import { isValidFlowName, type RedisConnection, type RedisKeys } from '@flow-dispatcher/shared';
import { FlowQueues } from './flow-queues.js';
import { InvalidTriggerError } from './invalid-trigger-error.js';

/** Chunk jobs of one flow by BullMQ state (a chunk holds one trigger or thousands). */
export interface FlowJobCounts {
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  failed: number;
}

/** One flow as the fleet sees it. */
export interface FlowStatus {
  flow: string;
  /** Its queue is paused (in every partition that has it): no worker fetches its chunks. */
  paused: boolean;
  /** Its circuit breaker is open (`{prefix}:circuit:<flow>` exists). */
  circuitOpen: boolean;
  /** Time left on the circuit key, when it has one (ms). */
  circuitTtlMs: number | null;
  /** Triggers stored and not yet settled (succeeded or dead-lettered), over every partition. */
  pending: number;
  /** Over every partition. */
  jobs: FlowJobCounts;
}

export interface FleetStatus {
  /** The whole fleet is paused (`{prefix}:paused` is set): flows that appear later are paused too. */
  pausedAll: boolean;
  /** When the whole fleet was paused (epoch ms), if it is. */
  pausedAllSince: number | null;
  /** Every flow in the registry, by name. */
  flows: FlowStatus[];
}

export interface PauseResult {
  /** The flows whose queues are now paused. */
  flows: string[];
  /** A single flow that had never had a trigger: it was added to the registry, paused. */
  registered: boolean;
}

const JOB_STATES = ['wait', 'active', 'delayed', 'prioritized', 'failed'] as const;

/**
 * Pause and resume, fleet-wide. The state lives in Redis, so every worker, ingest and CLI sees it.
 *
 * Pausing a flow pauses its BullMQ queue: workers stop fetching its chunks by themselves (chunks a
 * worker already holds still finish; nothing is lost or handed back). Pausing everything also sets
 * `{prefix}:paused`, which workers read to pause flows they discover later. Resuming a flow resumes
 * its queue and deletes its circuit-breaker key: an operator who resumes means "try it now".
 * Resuming everything deletes `{prefix}:paused` first, then resumes every flow in the registry, then
 * looks at the registry once more for a flow that appeared meanwhile.
 *
 * With several queue partitions a flow has a queue in each partition it was written to: pausing
 * and resuming act on all of them, and a flow is registered in every partition when paused before
 * its first trigger (so it stays paused wherever its triggers land). Status sums the partitions.
 */
export class FlowControl {
  readonly #queues: FlowQueues;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
  ) {
    this.#queues = new FlowQueues(redis, keys);
  }

  /** Every flow that has ever had a trigger, in any partition, sorted. */
  async flows(): Promise<string[]> {
    return [...(await this.#registry()).keys()].sort();
  }

  /** Whether the flow is in the registry of any partition. */
  async isKnown(flow: string): Promise<boolean> {
    const found = await Promise.all(
      this.keys.allPartitions.map((keys) => this.redis.sismember(keys.flows, flow)),
    );
    return found.some((n) => n === 1);
  }

  /** Flow → the partitions whose registry holds it. */
  async #registry(): Promise<Map<string, number[]>> {
    const registries = await Promise.all(
      this.keys.allPartitions.map((keys) => this.redis.smembers(keys.flows)),
    );
    const flows = new Map<string, number[]>();
    registries.forEach((names, partition) => {
      for (const name of names) flows.set(name, [...(flows.get(name) ?? []), partition]);
    });
    return flows;
  }

  /** Every partition's queue of `flow` (each partition, whether or not it has the flow yet). */
  #queuesOf(flow: string) {
    return this.keys.allPartitions.map((keys) => this.#queues.get(flow, keys.partition));
  }

  /**
   * Pauses one flow, or (without `flow`) every flow and the fleet itself. A flow that had no
   * trigger yet is registered, so it stays paused when its triggers arrive and `resume` finds it.
   */
  async pause(flow?: string): Promise<PauseResult> {
    if (flow !== undefined) {
      checkFlow(flow);
      const known = await this.isKnown(flow);
      for (const keys of this.keys.allPartitions) {
        await this.redis.sadd(keys.flows, flow);
        await this.#queues.get(flow, keys.partition).pause();
      }
      return { flows: [flow], registered: !known };
    }
    // The fleet flag first: a flow a worker discovers from now on is paused by the worker.
    await this.redis.set(this.keys.pausedAll, String(Date.now()));
    const flows = await this.#registry();
    for (const [name, partitions] of flows) {
      for (const partition of partitions) await this.#queues.get(name, partition).pause();
    }
    return { flows: [...flows.keys()].sort(), registered: false };
  }

  /** Resumes one flow (closing its circuit), or every flow and the fleet itself. */
  async resume(flow?: string): Promise<string[]> {
    if (flow !== undefined) {
      checkFlow(flow);
      for (const queue of this.#queuesOf(flow)) await queue.resume();
      await this.redis.del(this.keys.circuit(flow));
      return [flow];
    }
    await this.redis.del(this.keys.pausedAll);
    const flows = await this.#registry();
    for (const [name, partitions] of flows) {
      for (const partition of partitions) await this.#queues.get(name, partition).resume();
      await this.redis.del(this.keys.circuit(name));
    }
    // A worker may have paused a flow it discovered just before the flag went away.
    const resumed = new Set(flows.keys());
    for (const [name, partitions] of await this.#registry()) {
      for (const partition of partitions) {
        const queue = this.#queues.get(name, partition);
        if (resumed.has(name) && !(await queue.isPaused())) continue;
        await queue.resume();
        await this.redis.del(this.keys.circuit(name));
        resumed.add(name);
      }
    }
    return [...resumed].sort();
  }

  /** Every flow with its pause, circuit, backlog and chunk counts. */
  async status(): Promise<FleetStatus> {
    const registry = await this.#registry();
    const flows = [...registry.keys()].sort();
    const [pausedAllRaw, pendingByPartition] = await Promise.all([
      this.redis.get(this.keys.pausedAll),
      Promise.all(this.keys.allPartitions.map((keys) => this.redis.hgetall(keys.pending))),
    ]);
    const statuses = await Promise.all(
      flows.map(async (flow): Promise<FlowStatus> => {
        const partitions = registry.get(flow) ?? [];
        const [perPartition, circuitTtl] = await Promise.all([
          Promise.all(
            partitions.map(async (partition) => {
              const queue = this.#queues.get(flow, partition);
              const [paused, counts] = await Promise.all([
                queue.isPaused(),
                queue.getJobCounts(...JOB_STATES),
              ]);
              return { paused, counts };
            }),
          ),
          this.redis.pttl(this.keys.circuit(flow)),
        ]);
        const sum = (state: (typeof JOB_STATES)[number]) =>
          perPartition.reduce((n, p) => n + (p.counts[state] ?? 0), 0);
        return {
          flow,
          paused: perPartition.length > 0 && perPartition.every((p) => p.paused),
          // PTTL: -2 no key, -1 a key without expiry.
          circuitOpen: circuitTtl !== -2,
          circuitTtlMs: circuitTtl >= 0 ? circuitTtl : null,
          pending: pendingByPartition.reduce(
            (n, pending) => n + Math.max(0, Number(pending[flow] ?? 0)),
            0,
          ),
          jobs: {
            waiting: sum('wait'),
            active: sum('active'),
            delayed: sum('delayed'),
            prioritized: sum('prioritized'),
            failed: sum('failed'),
          },
        };
      }),
    );
    const since = pausedAllRaw === null ? null : Number(pausedAllRaw);
    return {
      pausedAll: pausedAllRaw !== null,
      pausedAllSince: since !== null && Number.isFinite(since) ? since : null,
      flows: statuses,
    };
  }

  /** Closes the queue objects (the connection stays the caller's). */
  async close(): Promise<void> {
    await this.#queues.close();
  }
}

function checkFlow(flow: string): void {
  if (!isValidFlowName(flow)) {
    throw new InvalidTriggerError(
      'flow must be a flow API name: a letter, then letters, digits or underscores, at most 80 characters',
      'flow',
    );
  }
}
