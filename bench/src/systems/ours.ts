import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chunkIdTime, decodeTriggerRecord, RedisKeys } from '@flow-dispatcher/shared';
import { Queue } from 'bullmq';
import { CLI_BIN } from '../bench-paths.js';
import { startCli, stopCli } from '../cli-process.js';
import { LatencyRecorder, type LatencyReport } from '../latency-recorder.js';
import type { ProbedProcess } from '../process-probe.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import { BENCH_FLOW } from '../workload.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

export interface OursOptions {
  /** `flow-dispatcher worker` processes. */
  workers: number;
  /** Triggers per chunk job written by `triggerMany` (PRODUCER_CHUNK_SIZE). */
  chunkSize: number;
  /** Chunk writes in flight in the producer (`triggerMany`'s concurrency). */
  producerLanes: number;
  /** Environment for the workers beyond Redis and Salesforce (DISPATCH_LINGER_MS, …). */
  env: Record<string, string>;
  /** Start the workers under `node --cpu-prof`, writing the profiles here. */
  cpuProfileDir?: string | undefined;
}

export const OURS_PREFIX = 'bench';

/** The environment of a `flow-dispatcher` process of the bench: its Redis, the simulator. */
export function oursEnv(ctx: SystemContext): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: OURS_PREFIX,
    SF_LOGIN_URL: ctx.sim.url,
    SF_CLIENT_ID: 'sim-client-id',
    SF_CLIENT_SECRET: 'sim-client-secret',
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    // `OUTCOME_EVENTS=off pnpm bench …` measures the workers without outcome events.
    OUTCOME_EVENTS: process.env.OUTCOME_EVENTS,
  };
}

/**
 * Ours: the producer library writes chunk jobs, `flow-dispatcher worker` processes (the real CLI,
 * configured by environment as in production) drain them. Held by pausing the flow's BullMQ
 * queue. Enqueue → answer comes from Redis afterwards: each trigger record's answer time `t`
 * minus its chunk id's write time.
 */
export class Ours implements SystemDriver {
  readonly system = 'ours';
  readonly queued = true;
  readonly sink: SinkConfig;
  readonly #keys = new RedisKeys(OURS_PREFIX);
  readonly #queue: Queue;
  #workers: ChildProcess[] = [];
  readonly #startedAt = new Map<number, number>();
  #since = 0;

  constructor(
    private readonly ctx: SystemContext,
    private readonly options: OursOptions,
  ) {
    this.sink = {
      kind: 'ours',
      redisUrl: ctx.redis.url,
      prefix: OURS_PREFIX,
      chunkSize: options.chunkSize,
      lanes: options.producerLanes,
    };
    this.#queue = new Queue(BENCH_FLOW, {
      connection: ctx.redis.client,
      prefix: this.#keys.bullPrefix,
    });
  }

  async start(): Promise<void> {
    await this.#queue.pause();
    const env = { ...oursEnv(this.ctx), ...this.options.env };
    const execArgv: string[] = [];
    if (this.options.cpuProfileDir) {
      mkdirSync(this.options.cpuProfileDir, { recursive: true });
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${this.options.cpuProfileDir}`);
    }
    const started = await Promise.all(
      Array.from({ length: this.options.workers }, (_, i) =>
        startCli(
          [...execArgv, CLI_BIN, 'worker'],
          env,
          join(this.ctx.dir, `worker-${i}.log`),
          '"msg":"worker ready"',
        ),
      ),
    );
    this.#workers = started.map((s) => s.child);
    for (const s of started)
      if (s.child.pid !== undefined) this.#startedAt.set(s.child.pid, s.spawnedAt);
    // The workers discover the flow from the registry; the warm-up registers it.
  }

  processes(): ProbedProcess[] {
    return this.#workers.map((w) => ({ role: 'worker', pid: w.pid ?? -1 }));
  }

  hold(): Promise<void> {
    return this.#queue.pause();
  }

  release(): Promise<void> {
    return this.#queue.resume();
  }

  async resetRecord(): Promise<void> {
    this.#since = Date.now();
  }

  async settled(written: number): Promise<number> {
    const pending = Number((await this.ctx.redis.client.hget(this.#keys.pending, BENCH_FLOW)) ?? 0);
    return written - pending;
  }

  /** Reads every trigger record of the chunks written since `resetRecord`. */
  async latencies(): Promise<LatencyReport> {
    const recorder = new LatencyRecorder();
    const redis = this.ctx.redis.client;
    const stream = redis.scanStream({ match: `${this.#keys.root}:out:*`, count: 1_000 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      const chunks = keys.flatMap((key) => {
        const enqueuedAt = chunkIdTime(key.slice(key.lastIndexOf(':') + 1));
        return enqueuedAt !== undefined && enqueuedAt >= this.#since ? [{ key, enqueuedAt }] : [];
      });
      if (chunks.length === 0) continue;
      const pipeline = redis.pipeline();
      for (const chunk of chunks) pipeline.hvals(chunk.key);
      const results = (await pipeline.exec()) ?? [];
      chunks.forEach((chunk, i) => {
        const values = (results[i]?.[1] as string[] | undefined) ?? [];
        for (const raw of values) {
          const record = decodeTriggerRecord(raw);
          if (record?.s === 'ok') recorder.record(chunk.enqueuedAt, record.t);
          else if (record?.s === 'dead') recorder.fail(1);
        }
      });
    }
    return recorder.report();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => stopCli(worker)));
    await this.#queue.close();
  }

  cpuProfiles(): { dir: string; startedAtByPid: Map<number, number> } | undefined {
    const dir = this.options.cpuProfileDir;
    return dir ? { dir, startedAtByPid: this.#startedAt } : undefined;
  }
}
