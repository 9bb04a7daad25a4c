import {
  ENQUEUE_SOURCES,
  type EnqueueSource,
  type Logger,
  type Metrics,
  type RedisConnection,
  type RedisKeys,
} from '@flow-dispatcher/shared';
import { Queue } from 'bullmq';

/**
 * BullMQ states exported as `flow_dispatcher_queue_jobs{state}`. Completed chunks are removed;
 * BullMQ 6 keeps the jobs of a paused queue in `waiting`.
 */
export const SAMPLED_JOB_STATES = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'failed',
] as const;

export interface QueueDepthSamplerOptions {
  redis: RedisConnection;
  /** The deployment's keys: every queue partition is sampled. */
  keys: RedisKeys;
  metrics: Metrics;
  logger: Logger;
  /** Time between two samples. */
  intervalMs: number;
}

/**
 * Copies the depth of the queues from Redis into gauges: chunk jobs per flow and BullMQ state
 * (`getJobCounts` on each flow of the registry), triggers not yet settled per flow (the pending
 * counter, less the scheduled triggers no worker has taken yet, which have a gauge of their own),
 * dead letters (the size of the dead-letter set), and the triggers ever enqueued per flow and
 * source (the enqueued counter every chunk write bumps: the counter
 * `flow_dispatcher_triggers_enqueued_total` follows it), each summed over the queue partitions.
 *
 * States: created → running (one sample at start, then one every `intervalMs`; a sample never
 * overlaps the previous one) → stopped. The trade-off: the numbers are up to `intervalMs` old,
 * and in exchange Redis pays one sample per interval per worker whatever the number of scrapers
 * and their rate. Every worker reports the same fleet-wide numbers, so queries aggregate them
 * with `max`. A failed sample leaves the last numbers in place and logs once per failure streak.
 */
export class QueueDepthSampler {
  readonly #queues = new Map<string, Queue>();
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;
  #state: 'created' | 'running' | 'stopped' = 'created';
  #failing = false;
  /** What the enqueued counter exports, by `source:flow`: it moves by the difference. */
  readonly #enqueued = new Map<string, number>();

  constructor(private readonly options: QueueDepthSamplerOptions) {}

  start(): void {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    this.#tick();
  }

  #tick(): void {
    this.#sampling = this.sample().finally(() => {
      this.#sampling = undefined;
      if (this.#state !== 'running') return;
      this.#timer = setTimeout(() => this.#tick(), this.options.intervalMs);
      this.#timer.unref();
    });
  }

  /** Reads the depths once and sets the gauges. Never throws. */
  async sample(): Promise<void> {
    const { redis, keys, metrics, logger } = this.options;
    try {
      const perPartition = await Promise.all(
        keys.allPartitions.map(async (partition) => {
          const [flows, pending, scheduled, deadLetters, enqueued, events, groups] =
            await Promise.all([
              redis.smembers(partition.flows),
              redis.hgetall(partition.pending),
              redis.hgetall(partition.scheduled),
              redis.zcard(partition.deadLetters),
              redis.hgetall(partition.enqueued),
              redis.xlen(partition.outcomeEvents),
              outcomeGroups(redis, partition.outcomeEvents),
            ]);
          const counts = await Promise.all(
            flows.map((flow) => this.#queue(flow, partition).getJobCounts(...SAMPLED_JOB_STATES)),
          );
          return { flows, pending, scheduled, deadLetters, counts, enqueued, events, groups };
        }),
      );
      const jobs = new Map<string, Record<string, number>>();
      const backlog = new Map<string, number>();
      const scheduledByFlow = new Map<string, number>();
      let deadLetters = 0;
      const enqueued = new Map<string, number>();
      let events = 0;
      const lag = new Map<string, number>();
      const unacked = new Map<string, number>();
      for (const partition of perPartition) {
        deadLetters += partition.deadLetters;
        events += partition.events;
        for (const group of partition.groups) {
          lag.set(group.name, (lag.get(group.name) ?? 0) + (group.lag ?? partition.events));
          unacked.set(group.name, (unacked.get(group.name) ?? 0) + group.pending);
        }
        for (const [field, raw] of Object.entries(partition.enqueued)) {
          const n = Number(raw);
          if (Number.isFinite(n)) enqueued.set(field, (enqueued.get(field) ?? 0) + n);
        }
        partition.flows.forEach((flow, i) => {
          const sums = jobs.get(flow) ?? {};
          for (const state of SAMPLED_JOB_STATES) {
            sums[state] = (sums[state] ?? 0) + (partition.counts[i]?.[state] ?? 0);
          }
          jobs.set(flow, sums);
          // Scheduled triggers no worker has taken yet are not work to scale for (KEDA).
          const scheduled = Math.max(0, Number(partition.scheduled[flow] ?? 0));
          const pending = Math.max(0, Number(partition.pending[flow] ?? 0) - scheduled);
          backlog.set(flow, (backlog.get(flow) ?? 0) + pending);
          scheduledByFlow.set(flow, (scheduledByFlow.get(flow) ?? 0) + scheduled);
        });
      }
      for (const [flow, sums] of jobs) {
        for (const state of SAMPLED_JOB_STATES) {
          metrics.queueJobs.set({ flow, state }, sums[state] ?? 0);
        }
        metrics.backlogTriggers.set({ flow }, backlog.get(flow) ?? 0);
        metrics.scheduledTriggers.set({ flow }, scheduledByFlow.get(flow) ?? 0);
      }
      metrics.deadLetters.set(deadLetters);
      this.#exportEnqueued(enqueued);
      metrics.outcomeEvents.set(events);
      metrics.outcomeEventsLag.reset();
      metrics.outcomeEventsPending.reset();
      for (const [group, n] of lag) metrics.outcomeEventsLag.set({ group }, n);
      for (const [group, n] of unacked) metrics.outcomeEventsPending.set({ group }, n);
      if (this.#failing) logger.info('queue depth sampling recovered');
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) logger.warn({ err }, 'could not sample the queue depth; will retry');
      this.#failing = true;
    }
  }

  /**
   * Moves the enqueued counter to Redis's totals. A total below what is exported (the keys were
   * deleted) restarts that series from the new total, as a process restart would.
   */
  #exportEnqueued(totals: Map<string, number>): void {
    const counter = this.options.metrics.triggersEnqueued;
    for (const [field, total] of totals) {
      const colon = field.indexOf(':');
      const source = field.slice(0, colon) as EnqueueSource;
      const flow = field.slice(colon + 1);
      if (colon < 1 || !ENQUEUE_SOURCES.includes(source) || total < 0) continue;
      const labels = { flow, source };
      const exported = this.#enqueued.get(field) ?? 0;
      if (total < exported) {
        counter.remove(labels);
        counter.inc(labels, total);
      } else if (total > exported || !this.#enqueued.has(field)) {
        counter.inc(labels, total - exported);
      }
      this.#enqueued.set(field, total);
    }
  }

  #queue(flow: string, keys: RedisKeys): Queue {
    const id = `${keys.partition}:${flow}`;
    let queue = this.#queues.get(id);
    if (!queue) {
      queue = new Queue(flow, { connection: this.options.redis, prefix: keys.bullPrefix });
      // Errors reach `sample` through the failed command; keep the emitter from throwing.
      queue.on('error', () => {});
      this.#queues.set(id, queue);
    }
    return queue;
  }

  /** Stops sampling; resolves once a sample in progress has finished. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    await this.#sampling;
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }
}

/** A consumer group of an outcome stream: its lag (null when Redis cannot tell) and pending count. */
interface GroupInfo {
  name: string;
  lag: number | null;
  pending: number;
}

/** XINFO GROUPS of `stream` (none when the stream does not exist yet). */
async function outcomeGroups(redis: RedisConnection, stream: string): Promise<GroupInfo[]> {
  let reply: unknown;
  try {
    reply = await redis.call('XINFO', 'GROUPS', stream);
  } catch (err) {
    if (/no such key/i.test(String((err as Error).message))) return [];
    throw err;
  }
  return (reply as unknown[][]).map((fields) => {
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
    const lag = info.get('lag');
    return {
      name: String(info.get('name')),
      lag: lag === null || lag === undefined ? null : Number(lag),
      pending: Number(info.get('pending') ?? 0),
    };
  });
}
