import {
  checkPerSecond,
  checkWindowMs,
  DEFAULT_PACE_WINDOW_MS,
  decodePace,
  encodePace,
  type FlowPace,
  InvalidPaceError,
  isValidFlowName,
  type RedisConnection,
  type RedisKeys,
} from '@flow-dispatcher/shared';
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

/**
 * Why the fleet holds a flow (or the whole org), as the workers wrote it: calls stopped, triggers
 * waiting (see the worker's flow-holds.ts).
 */
export interface HoldView {
  /** not_found (404), refused (403: a permission, API access), breaker (the same input error on every input). */
  reason: string;
  /** Salesforce's error code. */
  code: string;
  message: string;
  /** Epoch ms. */
  since: number;
  /** When a worker next probes whether the cause is gone (epoch ms); null: `resume` only. */
  nextProbeAt: number | null;
}

/** One flow as the fleet sees it. */
export interface FlowStatus {
  flow: string;
  /** Its queue is paused (in every partition that has it): no worker fetches its chunks. */
  paused: boolean;
  /** Held by the workers, and why (null when not). */
  held: HoldView | null;
  /** Its pace (`flow-dispatcher pace`): inputs per second fleet-wide and the window; null: unpaced. */
  pace: FlowPace | null;
  /** It is held, for whatever reason (`{prefix}:circuit:<flow>` exists). */
  circuitOpen: boolean;
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
  /** Every flow is held: Salesforce refused the org itself (API_DISABLED_FOR_ORG). */
  heldAll: HoldView | null;
  /** Every flow in the registry, by name. */
  flows: FlowStatus[];
}

/** What `forget` dropped. */
export interface ForgetResult {
  /** Chunk jobs removed (every state), over every partition. */
  chunks: number;
  /** Triggers that were pending (stored, never settled). */
  pending: number;
}

/** A flow cannot be forgotten while a worker holds one of its chunks. */
export class FlowBusyError extends Error {
  override readonly name = 'FlowBusyError';
  readonly code = 'FLOW_BUSY';
}

export interface PauseResult {
  /** The flows whose queues are now paused. */
  flows: string[];
  /** A single flow that had never had a trigger: it was added to the registry, paused. */
  registered: boolean;
}

/** A pace to set: exactly one of the rates, and optionally the averaging window. */
export interface PaceOptions {
  perSecond?: number;
  perMinute?: number;
  perHour?: number;
  /** The averaging window (1 s to 1 h). @defaultValue 1000 */
  windowMs?: number;
}

export interface PaceResult {
  flow: string;
  pace: FlowPace;
  /** The flow had never had a trigger: it was added to the registry. */
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

  /** Resumes one flow (releasing its hold), or every flow and the fleet itself. */
  async resume(flow?: string): Promise<string[]> {
    if (flow !== undefined) {
      checkFlow(flow);
      for (const queue of this.#queuesOf(flow)) await queue.resume();
      await this.redis.del(this.keys.circuit(flow));
      await this.redis.publish(this.keys.holdsChanged, flow);
      return [flow];
    }
    await this.redis.del(this.keys.pausedAll, this.keys.fleetHold);
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
    await this.redis.publish(this.keys.holdsChanged, '*');
    return [...resumed].sort();
  }

  /**
   * Paces a flow fleet-wide: from within a second or so, every worker together sends at most
   * `perSecond` of its inputs a second, averaged over `windowMs` (see docs/design.md, "Pacing a
   * flow"). Setting a new pace replaces the old one (its bucket keeps what it holds, up to the
   * new capacity); a flow paced for the first time starts with an empty bucket. Throws an
   * InvalidPaceError (code INVALID_PACE) on a rate or window out of bounds.
   */
  async pace(flow: string, options: PaceOptions): Promise<PaceResult> {
    checkFlow(flow);
    const given = [
      options.perSecond === undefined ? undefined : options.perSecond,
      options.perMinute === undefined ? undefined : options.perMinute / 60,
      options.perHour === undefined ? undefined : options.perHour / 3_600,
    ].filter((rate): rate is number => rate !== undefined);
    if (given.length !== 1) {
      throw new InvalidPaceError('give exactly one of perSecond, perMinute or perHour');
    }
    const pace: FlowPace = {
      perSecond: checkPerSecond(given[0] as number),
      windowMs: checkWindowMs(options.windowMs ?? DEFAULT_PACE_WINDOW_MS),
    };
    const known = await this.isKnown(flow);
    for (const keys of this.keys.allPartitions) await this.redis.sadd(keys.flows, flow);
    await this.redis.hset(this.keys.paces, flow, encodePace(pace));
    return { flow, pace, registered: !known };
  }

  /** Stops pacing a flow (and drops its bucket); false when it was not paced. */
  async unpace(flow: string): Promise<boolean> {
    checkFlow(flow);
    const removed = await this.redis.hdel(this.keys.paces, flow);
    await this.redis.del(this.keys.paceBucket(flow));
    return removed > 0;
  }

  /** Every paced flow and its pace. */
  async paces(): Promise<Map<string, FlowPace>> {
    const raw = await this.redis.hgetall(this.keys.paces);
    const paces = new Map<string, FlowPace>();
    for (const [flow, value] of Object.entries(raw)) {
      const pace = decodePace(value);
      if (pace) paces.set(flow, pace);
    }
    return paces;
  }

  /**
   * Forgets a flow: its queue in every partition (every chunk job, whatever its state), its
   * triggers' records, its pending count, its hold and its place in the registry. Its dead letters
   * are the caller's to purge (the dead-letter queue's `purge({ flow })`). Refused with a
   * FlowBusyError while a worker holds one of its chunks: pause it first. A producer or ingest
   * that writes the flow again brings it back, empty.
   */
  async forget(flow: string): Promise<ForgetResult> {
    checkFlow(flow);
    const registry = await this.#registry();
    const partitions = registry.get(flow) ?? [];
    let chunks = 0;
    for (const partition of partitions) {
      const queue = this.#queues.get(flow, partition);
      if ((await queue.getActiveCount()) > 0) {
        throw new FlowBusyError(
          `a worker is dispatching ${flow} now: pause it (flow-dispatcher pause ${flow}), wait for its chunks to go back, and try again`,
        );
      }
    }
    for (const partition of partitions) {
      const keys = this.keys.forPartition(partition);
      const queue = this.#queues.get(flow, partition);
      await queue.pause();
      const ids: string[] = [];
      for (let start = 0; ; start += 1_000) {
        const jobs = await queue.getJobs(
          ['wait', 'delayed', 'prioritized', 'failed', 'completed', 'active'],
          start,
          start + 999,
        );
        for (const job of jobs) if (job?.id) ids.push(job.id);
        if (jobs.length < 1_000) break;
      }
      await queue.obliterate({ force: true });
      for (let i = 0; i < ids.length; i += 500) {
        const batch = ids.slice(i, i + 500).map((id) => keys.outcomes(id));
        if (batch.length > 0) await this.redis.del(...batch);
      }
      chunks += ids.length;
    }
    let pending = 0;
    for (const keys of this.keys.allPartitions) {
      const count = Number(await this.redis.hget(keys.pending, flow));
      if (Number.isFinite(count)) pending += Math.max(0, count);
      await this.redis.hdel(keys.pending, flow);
      await this.redis.srem(keys.flows, flow);
    }
    await this.redis.del(this.keys.circuit(flow));
    await this.redis.hdel(this.keys.paces, flow);
    await this.redis.del(this.keys.paceBucket(flow));
    return { chunks, pending };
  }

  /** Every flow with its pause, hold, backlog and chunk counts. */
  async status(): Promise<FleetStatus> {
    const registry = await this.#registry();
    const flows = [...registry.keys()].sort();
    const [pausedAllRaw, heldAllRaw, paces, pendingByPartition] = await Promise.all([
      this.redis.get(this.keys.pausedAll),
      this.redis.get(this.keys.fleetHold),
      this.paces(),
      Promise.all(this.keys.allPartitions.map((keys) => this.redis.hgetall(keys.pending))),
    ]);
    const statuses = await Promise.all(
      flows.map(async (flow): Promise<FlowStatus> => {
        const partitions = registry.get(flow) ?? [];
        const [perPartition, holdRaw] = await Promise.all([
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
          this.redis.get(this.keys.circuit(flow)),
        ]);
        const sum = (state: (typeof JOB_STATES)[number]) =>
          perPartition.reduce((n, p) => n + (p.counts[state] ?? 0), 0);
        return {
          flow,
          paused: perPartition.length > 0 && perPartition.every((p) => p.paused),
          held: parseHoldView(holdRaw),
          pace: paces.get(flow) ?? null,
          circuitOpen: holdRaw !== null,
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
      heldAll: parseHoldView(heldAllRaw),
      flows: statuses,
    };
  }

  /** Closes the queue objects (the connection stays the caller's). */
  async close(): Promise<void> {
    await this.#queues.close();
  }
}

/** A hold as the workers store it (JSON); holds written before reasons existed were 404s. */
function parseHoldView(raw: string | null): HoldView | null {
  if (raw === null) return null;
  let value: Record<string, unknown> = {};
  try {
    value = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // An unreadable hold is still a hold.
  }
  const text = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback);
  const since = typeof value.openedAt === 'number' ? value.openedAt : 0;
  return {
    reason: text(value.reason, 'not_found'),
    code: text(value.code, 'NOT_FOUND'),
    message: text(value.message, ''),
    since,
    nextProbeAt:
      value.nextProbeAt === null
        ? null
        : typeof value.nextProbeAt === 'number'
          ? value.nextProbeAt
          : since,
  };
}

function checkFlow(flow: string): void {
  if (!isValidFlowName(flow)) {
    throw new InvalidTriggerError(
      'flow must be a flow API name: a letter, then letters, digits or underscores, at most 80 characters',
      'flow',
    );
  }
}
