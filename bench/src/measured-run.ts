import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { answerTimeline } from './answer-timeline.js';
import { summarizeCpuProfiles } from './cpu-profile-summary.js';
import type { LatencyReport } from './latency-recorder.js';
import { summarizeLatencies } from './latency-summary.js';
import { LoadGenerator } from './load-generator-client.js';
import { PrivateRedis } from './private-redis.js';
import { type ProcessUsage, UsageWindow } from './process-probe.js';
import type { ProcessRecord, RunRecord, ScenarioId } from './run-record.js';
import { SIMULATOR_BASE_CONFIG, type SimulatorProcess } from './simulator-process.js';
import type { SystemContext, SystemDriver } from './systems/system-driver.js';

/** One measured run: a system, a load, and how long to wait for it. */
export interface RunSpec {
  id: string;
  scenario: ScenarioId;
  label: string;
  params: Record<string, number | string | boolean>;
  system: (ctx: SystemContext) => SystemDriver;
  /** `bulk`: a backlog written while the consumers are held, then drained; `paced`: open loop. */
  load: RunLoad;
  /** Sent through the whole path first, unmeasured (a paced run warms up paced, at its rate). */
  warmup: RunLoad;
  /** Stop waiting when nothing settled for this long (a system that lost triggers). */
  stallMs: number;
  /** Stop waiting this long after the release, whatever is left (bound scenarios). */
  timeBoxMs?: number;
  /** Simulator settings for this run only (bound scenarios); the base is restored after. */
  simulatorPatch?: Record<string, unknown>;
  /** Read the simulator's call record for the calls in flight over time (bound scenarios). */
  measureInFlight?: boolean;
}

export type Log = (line: string) => void;

export type RunLoad =
  | { kind: 'bulk'; count: number }
  | { kind: 'paced'; rate: number; durationMs: number };

/**
 * Runs one system through one load, and measures it. The phases:
 *
 *   fresh Redis, load generator, system started (held)
 *   → warm-up (triggers through the whole path: connections, tokens, JIT) → simulator reset
 *   → window opens (CPU readings, peak RSS reset) → load → settled (or stalled, or time box)
 *   → window closes → the simulator's record, the latencies → everything stopped.
 *
 * A bulk load is written while the consumers are held (the backlog), then released: the drain
 * rate is the consumers' alone, the end-to-end rate includes the write.
 */
export async function measureRun(
  spec: RunSpec,
  sim: SimulatorProcess,
  baseDir: string,
  log: Log,
): Promise<RunRecord> {
  const dir = join(baseDir, spec.id.replace(/[^\w.-]+/g, '_'));
  mkdirSync(dir, { recursive: true });
  const redis = await PrivateRedis.start();
  const loadGenerator = await LoadGenerator.start();
  const ctx: SystemContext = { redis, sim, loadGenerator, dir };
  const driver = spec.system(ctx);
  let record: RunRecord;
  try {
    await sim.configure({ ...SIMULATOR_BASE_CONFIG, ...spec.simulatorPatch });
    await sim.reset();
    await driver.start();
    await loadGenerator.prepare(driver.sink);

    // Warm-up: the same path, untimed.
    await driver.release();
    await driver.resetRecord();
    const warmed =
      spec.warmup.kind === 'bulk'
        ? (await loadGenerator.bulk('wu', 0, spec.warmup.count)).count
        : (await loadGenerator.paced('wu', spec.warmup.rate, spec.warmup.durationMs)).issued;
    const warm = await waitSettled(driver, warmed, 60_000, undefined);
    if (warm.settled < warmed) {
      throw new Error(`${spec.id}: the warm-up did not settle (${warm.settled} of ${warmed})`);
    }
    if (spec.load.kind === 'bulk') await driver.hold();
    await driver.resetRecord();
    await sim.reset();

    const processes = [
      ...driver.processes(),
      { role: 'producer', pid: loadGenerator.pid },
      { role: 'redis', pid: redis.pid },
      { role: 'simulator', pid: sim.pid },
    ];
    const window = new UsageWindow(processes);
    const redisCpuStart = await redis.cpuMs();
    const windowStart = Date.now();

    let writeStartAt: number;
    let writeEndAt: number;
    let releaseAt: number;
    let triggers: number;
    let writeErrors = 0;
    const generatorNotes: string[] = [];
    if (spec.load.kind === 'bulk') {
      log(`  ${spec.id}: writing ${spec.load.count.toLocaleString('en-US')} triggers`);
      const written = await loadGenerator.bulk('ms', 0, spec.load.count);
      writeStartAt = written.startAt;
      writeEndAt = written.endAt;
      triggers = written.count;
      releaseAt = driver.queued ? Date.now() : written.startAt;
      await driver.release();
    } else {
      log(`  ${spec.id}: ${spec.load.rate}/s for ${spec.load.durationMs / 1000} s`);
      const paced = await loadGenerator.paced('ms', spec.load.rate, spec.load.durationMs);
      writeStartAt = paced.startAt;
      writeEndAt = paced.endAt;
      releaseAt = paced.startAt;
      triggers = paced.issued - paced.errors;
      writeErrors = paced.errors;
      // An open-loop generator that falls behind hands triggers over late: say so.
      const behindMs = (paced.largestBurst * 1000) / spec.load.rate;
      if (behindMs > 20)
        generatorNotes.push(
          `the load generator fell up to ${Math.round(behindMs)} ms behind its schedule`,
        );
      // Latency counts from the system's own hand-over stamp (bench/README.md); a wait inside
      // the hand-over call before that stamp is not in it, so its bound is printed.
      if (spec.params.system !== 'B1')
        generatorNotes.push(
          `hand-over calls took p99 ${paced.handOverMs.p99.toFixed(1)} ms, max ${paced.handOverMs.max.toFixed(1)} ms from the call to its answer`,
        );
    }
    const deadline = spec.timeBoxMs === undefined ? undefined : releaseAt + spec.timeBoxMs;
    const waited = await waitSettled(driver, triggers, spec.stallMs, deadline);
    const windowEnd = Date.now();
    const usage = window.close();
    const redisCpuMs = (await redis.cpuMs()) - redisCpuStart;

    const delivery = await sim.deliveries();
    const stats = await sim.stats();
    const inFlight = spec.measureInFlight
      ? meanInFlight(await sim.calls(), releaseAt, windowEnd)
      : null;
    const report = await driver.latencies();
    const status = waited.timedOut ? 'timeboxed' : waited.stalled ? 'stalled' : 'ok';
    if (status === 'stalled') {
      log(`  ${spec.id}: STALLED at ${waited.settled} of ${triggers} settled`);
    }
    const notes: string[] = [...generatorNotes];
    if (writeErrors > 0) notes.push(`${writeErrors} hand-overs failed`);
    record = buildRecord({
      spec,
      driver,
      status,
      triggers,
      timing: {
        writeStartAt,
        writeEndAt,
        releaseAt,
        windowMs: windowEnd - windowStart,
        windowEndAt: windowEnd,
      },
      usage: usage.map((u) => (u.role === 'redis' ? { ...u, cpuMs: redisCpuMs } : u)),
      report,
      delivery,
      stats,
      inFlight,
      notes,
    });
  } finally {
    await driver.stop().catch((err) => log(`  ${spec.id}: stopping the system: ${String(err)}`));
    await loadGenerator.stop();
    await redis.stop();
    if (spec.simulatorPatch) await sim.configure({ ...SIMULATOR_BASE_CONFIG });
  }
  // Profiles are written when the workers exit.
  const profiles = driver.cpuProfiles?.();
  if (profiles) {
    const [summary] = summarizeCpuProfiles(profiles.dir, {
      window: { fromAt: record.timing.releaseAt, toAt: record.timing.windowEndAt },
      startedAtByPid: profiles.startedAtByPid,
    });
    if (summary) record.cpuProfile = summary;
  }
  return record;
}

/** Polls `driver.settled` until `target`, a stall, or the deadline. */
async function waitSettled(
  driver: SystemDriver,
  target: number,
  stallMs: number,
  deadline: number | undefined,
): Promise<{ settled: number; stalled: boolean; timedOut: boolean }> {
  let settled = await driver.settled(target);
  let lastChange = Date.now();
  while (settled < target) {
    if (deadline !== undefined && Date.now() >= deadline) {
      return { settled, stalled: false, timedOut: true };
    }
    if (Date.now() - lastChange > stallMs) return { settled, stalled: true, timedOut: false };
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await driver.settled(target);
    if (now !== settled) lastChange = Date.now();
    settled = now;
  }
  return { settled, stalled: false, timedOut: false };
}

type SimStats = Awaited<ReturnType<SimulatorProcess['stats']>>;
type SimCall = Awaited<ReturnType<SimulatorProcess['calls']>>[number];

/** Mean invoke calls in flight over [from, to] and their mean duration (pure). */
export function meanInFlight(calls: readonly SimCall[], from: number, to: number): InFlight | null {
  if (to <= from) return null;
  let busyMs = 0;
  let durationMs = 0;
  let ended = 0;
  let firstStart = Number.POSITIVE_INFINITY;
  let lastEnd = from;
  for (const call of calls) {
    const end = call.endedAt ?? to;
    busyMs += Math.max(0, Math.min(end, to) - Math.max(call.startedAt, from));
    if (call.endedAt !== null && call.status === 200) {
      durationMs += call.endedAt - call.startedAt;
      ended++;
    }
    if (call.startedAt >= from) firstStart = Math.min(firstStart, call.startedAt);
    lastEnd = Math.max(lastEnd, Math.min(end, to));
  }
  const steady = Number.isFinite(firstStart) && lastEnd > firstStart;
  return {
    mean: busyMs / (to - from),
    meanCallMs: ended > 0 ? durationMs / ended : 0,
    calls: calls.length,
    firstCallAfterMs: steady ? firstStart - from : null,
    steadyMean: steady ? busyMs / (lastEnd - firstStart) : null,
  };
}

/**
 * Calls in flight: `mean` over the whole window; `steadyMean` from the first call's start to the
 * last call's end (the ramp after the release left out); `firstCallAfterMs`, that ramp.
 */
export interface InFlight {
  mean: number;
  meanCallMs: number;
  calls: number;
  firstCallAfterMs: number | null;
  steadyMean: number | null;
}

function perSecond(count: number, fromMs: number, toMs: number): number | null {
  return toMs > fromMs && count > 0 ? (count * 1000) / (toMs - fromMs) : null;
}

function buildRecord(input: {
  spec: RunSpec;
  driver: SystemDriver;
  status: RunRecord['status'];
  triggers: number;
  timing: {
    writeStartAt: number;
    writeEndAt: number;
    releaseAt: number;
    windowMs: number;
    windowEndAt: number;
  };
  usage: ProcessUsage[];
  report: LatencyReport;
  delivery: { uniqueDelivered: number; totalDelivered: number; duplicates: number };
  stats: SimStats;
  inFlight: RunRecord['salesforce']['inFlight'];
  notes: string[];
}): RunRecord {
  const { spec, triggers, timing, report, delivery, stats } = input;
  const answered = report.latenciesMs.length;
  const lastAnswerAt = report.lastAnswerAt;
  const processes: ProcessRecord[] = input.usage.map((u) => ({
    role: u.role,
    pid: u.pid,
    cpuMs: u.cpuMs,
    cpuMsPer1k: u.cpuMs === null || answered === 0 ? null : (u.cpuMs * 1000) / answered,
    peakRssMb: u.peakRssMb,
  }));
  const calls = stats.invokeCalls.total;
  const timeline = answerTimeline(report.answeredAt, timing.releaseAt);
  const undelivered = Math.max(0, triggers - delivery.uniqueDelivered);
  return {
    id: spec.id,
    system: input.driver.system,
    scenario: spec.scenario,
    label: spec.label,
    params: spec.params,
    status: input.status,
    triggers,
    timing: { ...timing, lastAnswerAt },
    throughput: {
      endToEnd: perSecond(answered, timing.writeStartAt, lastAnswerAt),
      drain:
        spec.load.kind === 'bulk' && input.driver.queued
          ? perSecond(answered, timing.releaseAt, lastAnswerAt)
          : null,
      write: perSecond(triggers, timing.writeStartAt, timing.writeEndAt),
      peakPerSecond: answered > 0 ? timeline.peakPerSecond : null,
    },
    timeline,
    salesforce: {
      calls,
      inputs: stats.inputs.received,
      callsPerTrigger: answered > 0 ? calls / answered : null,
      inputsPerCall: calls > 0 ? stats.inputs.received / calls : null,
      highestConcurrency: stats.concurrency.highest,
      apiUsed: stats.apiUsage.used,
      byStatus: stats.invokeCalls.byStatus,
      refusedForLimits: stats.refusedForLimits,
      inFlight: input.inFlight,
    },
    latencyMs: summarizeLatencies(report.latenciesMs),
    delivery: {
      expected: triggers,
      unique: delivery.uniqueDelivered,
      total: delivery.totalDelivered,
      duplicates: delivery.duplicates,
      lost: input.status === 'timeboxed' ? null : undelivered,
      undelivered,
      failed: report.failed,
    },
    processes,
    notes: input.notes,
  };
}
