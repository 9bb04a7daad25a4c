import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import type { RunSpec } from './measured-run.js';
import { B0RawList } from './systems/b0-raw-list.js';
import { B1Direct } from './systems/b1-direct.js';
import { B2Bullmq } from './systems/b2-bullmq.js';
import { Ours } from './systems/ours.js';
import { OursIngest } from './systems/ours-ingest.js';
import type { SystemContext, SystemDriver, SystemId } from './systems/system-driver.js';

/** Concurrencies settled before the measured runs (by tuning or by the options). */
export interface Tuned {
  b1: number;
  b2: number;
}

/** Inputs per call in the bound runs: fewer triggers are needed to keep the limits busy. */
export const BOUND_INPUTS_PER_CALL = 20;

/** Builds the driver of `system` with these options. */
export function driverFor(
  system: SystemId,
  options: BenchOptions,
  tuned: Tuned,
  extra: { env?: Record<string, string>; profileDir?: string; workers?: number } = {},
): (ctx: SystemContext) => SystemDriver {
  const workers = extra.workers ?? options.workers;
  switch (system) {
    case 'B0':
      return (ctx) =>
        new B0RawList(ctx, {
          consumers: workers,
          // The same calls in flight as ours across the fleet, split between the consumers.
          concurrency: Math.max(1, Math.ceil(options.sfConcurrency / workers)),
          maxInputs: options.maxInputs,
          lingerMs: options.lingerMs,
        });
    case 'B1':
      return (ctx) => new B1Direct(ctx, { concurrency: tuned.b1 });
    case 'B2':
      return (ctx) => new B2Bullmq(ctx, { workers, concurrency: tuned.b2 });
    case 'ours':
    case 'ours-ingest': {
      const oursOptions = {
        workers,
        chunkSize: options.chunkSize,
        producerLanes: options.producerLanes,
        env: { ...options.workerEnv, ...extra.env },
        cpuProfileDir: extra.profileDir,
      };
      return system === 'ours'
        ? (ctx) => new Ours(ctx, oursOptions)
        : (ctx) => new OursIngest(ctx, oursOptions, options.ingestEnv);
    }
  }
}

function baseParams(system: SystemId, options: BenchOptions, tuned: Tuned) {
  const params: Record<string, number | string | boolean> = {
    system,
    latencyMs: options.latencyMs,
  };
  if (system !== 'B1') params.workers = options.workers;
  if (system === 'B1') params.concurrency = tuned.b1;
  if (system === 'B2') params.concurrency = tuned.b2;
  if (system === 'B0' || system === 'ours' || system === 'ours-ingest') {
    params.maxInputs = options.maxInputs;
    params.lingerMs = options.lingerMs;
    params.fleetConcurrency = options.sfConcurrency;
  }
  if (system === 'ours') params.chunkSize = options.chunkSize;
  if (system === 'ours-ingest') params.front = 'flow-dispatcher ingest, group commit';
  return params;
}

const LABELS: Record<SystemId, string> = {
  B0: 'B0 raw list',
  B1: 'B1 direct',
  B2: 'B2 BullMQ',
  ours: 'ours',
  'ours-ingest': 'ours via HTTP ingest',
};

/** Saturation: a backlog written while consumers are held, then drained. */
export function drainSpecs(options: BenchOptions, tuned: Tuned, profileDir?: string): RunSpec[] {
  // A backlog through HTTP is ingest's saturation phase (bench/ingest), not a drain of ours.
  const systems = options.systems.filter((s) => s !== 'ours-ingest');
  return systems.map((system): RunSpec => {
    const count =
      system === 'B1' || system === 'B2' ? options.perCallTriggers : options.bulkTriggers;
    return {
      id: `drain/${system}`,
      scenario: 'drain',
      label: `${LABELS[system]}${system === 'ours' ? ' bulk (triggerMany)' : ''}`,
      params: { ...baseParams(system, options, tuned), triggers: count },
      system: driverFor(system, options, tuned, {
        ...(system === 'ours' && profileDir ? { profileDir: join(profileDir, 'drain-ours') } : {}),
      }),
      load: { kind: 'bulk', count },
      warmup: { kind: 'bulk', count: options.warmupTriggers },
      // Batched systems make few enough calls for the simulator's call record to hold them all.
      measureInFlight: system === 'ours' || system === 'B0',
      stallMs: options.stallMs,
    };
  });
}

/** Open-loop single triggers at fixed rates: each system as a backend would feed it. */
export function pacedSpecs(options: BenchOptions, tuned: Tuned, profileDir?: string): RunSpec[] {
  return options.pacedRates.flatMap((rate) =>
    options.systems.map(
      (system): RunSpec => ({
        id: `paced-${rate}/${system}`,
        scenario: 'paced',
        label: `${LABELS[system]}${system === 'ours' ? ' trigger()' : ''} @ ${rate}/s`,
        params: {
          ...baseParams(system, options, tuned),
          rate,
          durationMs: options.pacedDurationMs,
        },
        system: driverFor(system, options, tuned, {
          ...(system === 'ours' && profileDir
            ? { profileDir: join(profileDir, `paced-${rate}-ours`) }
            : {}),
        }),
        load: { kind: 'paced', rate, durationMs: options.pacedDurationMs },
        warmup: { kind: 'paced', rate, durationMs: options.pacedWarmupMs },
        stallMs: options.stallMs,
      }),
    ),
  );
}

/**
 * The limits: SF_MAX_CONCURRENCY over `workers` processes against a simulator that refuses any
 * call above it; then SF_DAILY_API_SHARE of a small daily allocation. Both are time-boxed; calls
 * carry BOUND_INPUTS_PER_CALL inputs so a modest backlog keeps the limits busy.
 */
export function boundSpecs(options: BenchOptions, tuned: Tuned): RunSpec[] {
  if (!options.systems.includes('ours')) return [];
  const { concurrency, dailyLimit, dailyShare, durationMs } = options.bound;
  const allowedCallsPerSecond = (concurrency * 1000) / Math.max(1, options.latencyMs);
  const concurrencyBacklog = Math.ceil(
    allowedCallsPerSecond * BOUND_INPUTS_PER_CALL * (durationMs / 1000) * 1.5,
  );
  const allowedCalls = Math.floor(dailyLimit * dailyShare);
  const dailyBacklog = allowedCalls * BOUND_INPUTS_PER_CALL * 2;
  // Both: ours with 20 inputs per call, a backlog that outlasts the time box, a short warm-up.
  const bound = (
    spec: Pick<RunSpec, 'id' | 'scenario' | 'label' | 'simulatorPatch' | 'measureInFlight'> & {
      params: Record<string, number>;
      env: Record<string, string>;
      backlog: number;
      stallMs: number;
    },
  ): RunSpec => ({
    id: spec.id,
    scenario: spec.scenario,
    label: spec.label,
    params: {
      ...baseParams('ours', options, tuned),
      maxInputs: BOUND_INPUTS_PER_CALL,
      ...spec.params,
      triggers: spec.backlog,
    },
    system: driverFor('ours', options, tuned, {
      env: { ...spec.env, SF_MAX_INPUTS_PER_CALL: String(BOUND_INPUTS_PER_CALL) },
    }),
    load: { kind: 'bulk', count: spec.backlog },
    warmup: { kind: 'bulk', count: 200 },
    stallMs: spec.stallMs,
    timeBoxMs: durationMs,
    simulatorPatch: spec.simulatorPatch,
    ...(spec.measureInFlight ? { measureInFlight: true } : {}),
  });
  return [
    bound({
      id: 'bound-concurrency/ours',
      scenario: 'bound-concurrency',
      label: `ours, SF_MAX_CONCURRENCY=${concurrency}`,
      params: { boundConcurrency: concurrency, allowedCallsPerSecond },
      env: { SF_MAX_CONCURRENCY: String(concurrency) },
      backlog: concurrencyBacklog,
      stallMs: options.stallMs,
      simulatorPatch: { maxConcurrency: concurrency },
      measureInFlight: true,
    }),
    // The simulator's reset after the warm-up restarts the allocation at 0.
    bound({
      id: 'bound-daily/ours',
      scenario: 'bound-daily',
      label: `ours, SF_DAILY_API_SHARE=${dailyShare} of ${dailyLimit}`,
      params: { dailyLimit, dailyShare, allowedCalls },
      env: { SF_DAILY_API_SHARE: String(dailyShare) },
      backlog: dailyBacklog,
      stallMs: Math.min(options.stallMs, durationMs),
      simulatorPatch: { dailyLimit, dailyUsed: 0 },
    }),
  ];
}

/** Short drains of B1 or B2 at each candidate concurrency; the best is used for the real runs. */
export function tuneSpecs(options: BenchOptions, system: 'B1' | 'B2'): RunSpec[] {
  return options.tuneCandidates.map((candidate) => {
    const tuned: Tuned = { b1: candidate, b2: candidate };
    return {
      id: `tune/${system}-c${candidate}`,
      scenario: 'tune',
      label: `${LABELS[system]} concurrency ${candidate}`,
      params: { ...baseParams(system, options, tuned), triggers: options.tuneTriggers },
      system: driverFor(system, options, tuned),
      load: { kind: 'bulk', count: options.tuneTriggers },
      warmup: { kind: 'bulk', count: Math.min(options.warmupTriggers, 500) },
      stallMs: options.stallMs,
    };
  });
}
