import { isValidFlowName, type RedisKeys } from '@flow-dispatcher/shared';
import type { Redis } from 'ioredis';
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
  /** Its queue is paused: no worker fetches its chunks. */
  paused: boolean;
  /** Its circuit breaker is open (`{prefix}:circuit:<flow>` exists). */
  circuitOpen: boolean;
  /** Time left on the circuit key, when it has one (ms). */
  circuitTtlMs: number | null;
  /** Triggers stored and not yet settled (succeeded or dead-lettered). */
  pending: number;
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
 */
export class FlowControl {
  readonly #queues: FlowQueues;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.#queues = new FlowQueues(redis, keys.bullPrefix);
  }

  /** Every flow that has ever had a trigger, sorted. */
  async flows(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.flows)).sort();
  }

  /** Whether the flow is in the registry. */
  async isKnown(flow: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.flows, flow)) === 1;
  }

  /**
   * Pauses one flow, or (without `flow`) every flow and the fleet itself. A flow that had no
   * trigger yet is registered, so it stays paused when its triggers arrive and `resume` finds it.
   */
  async pause(flow?: string): Promise<PauseResult> {
    if (flow !== undefined) {
      checkFlow(flow);
      const added = await this.redis.sadd(this.keys.flows, flow);
      await this.#queues.get(flow).pause();
      return { flows: [flow], registered: added === 1 };
    }
    // The fleet flag first: a flow a worker discovers from now on is paused by the worker.
    await this.redis.set(this.keys.pausedAll, String(Date.now()));
    const flows = await this.flows();
    for (const name of flows) await this.#queues.get(name).pause();
    return { flows, registered: false };
  }

  /** Resumes one flow (closing its circuit), or every flow and the fleet itself. */
  async resume(flow?: string): Promise<string[]> {
    if (flow !== undefined) {
      checkFlow(flow);
      await this.#queues.get(flow).resume();
      await this.redis.del(this.keys.circuit(flow));
      return [flow];
    }
    await this.redis.del(this.keys.pausedAll);
    const flows = await this.flows();
    for (const name of flows) {
      await this.#queues.get(name).resume();
      await this.redis.del(this.keys.circuit(name));
    }
    // A worker may have paused a flow it discovered just before the flag went away.
    const resumed = new Set(flows);
    for (const name of await this.flows()) {
      if (resumed.has(name) && !(await this.#queues.get(name).isPaused())) continue;
      await this.#queues.get(name).resume();
      await this.redis.del(this.keys.circuit(name));
      resumed.add(name);
    }
    return [...resumed].sort();
  }

  /** Every flow with its pause, circuit, backlog and chunk counts. */
  async status(): Promise<FleetStatus> {
    const flows = await this.flows();
    const [pausedAllRaw, pendingRaw] = await Promise.all([
      this.redis.get(this.keys.pausedAll),
      this.redis.hgetall(this.keys.pending),
    ]);
    const statuses = await Promise.all(
      flows.map(async (flow): Promise<FlowStatus> => {
        const queue = this.#queues.get(flow);
        const [paused, counts, circuitTtl] = await Promise.all([
          queue.isPaused(),
          queue.getJobCounts(...JOB_STATES),
          this.redis.pttl(this.keys.circuit(flow)),
        ]);
        return {
          flow,
          paused,
          // PTTL: -2 no key, -1 a key without expiry.
          circuitOpen: circuitTtl !== -2,
          circuitTtlMs: circuitTtl >= 0 ? circuitTtl : null,
          pending: Math.max(0, Number(pendingRaw[flow] ?? 0)),
          jobs: {
            waiting: counts.wait ?? 0,
            active: counts.active ?? 0,
            delayed: counts.delayed ?? 0,
            prioritized: counts.prioritized ?? 0,
            failed: counts.failed ?? 0,
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
