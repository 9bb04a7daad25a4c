import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, hostname, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import type { CpuProfileSummary } from './cpu-profile-summary.js';
import { runIngestScenario, type SingleTriggerResult } from './ingest-hook.js';
import { type Log, measureRun, type RunSpec } from './measured-run.js';
import type { RunRecord } from './run-record.js';
import { boundSpecs, drainSpecs, pacedSpecs, type Tuned, tuneSpecs } from './scenario-plan.js';
import { SimulatorProcess } from './simulator-process.js';
import { checkTargets, type TargetCheck } from './targets.js';

export interface TuningResult {
  system: 'B1' | 'B2';
  chosen: number;
  /** Drain rate (triggers/s) at each candidate. */
  candidates: { concurrency: number; triggersPerSecond: number | null; status: string }[];
  /** The tuning runs themselves. */
  runs: RunRecord[];
}

/** Everything one bench run produced (written as bench/results/<timestamp>-<name>.json). */
export interface BenchResult {
  schema: 1;
  name: string;
  startedAt: string;
  finishedAt: string;
  machine: {
    hostname: string;
    cpuModel: string;
    cpus: number;
    memoryGb: number;
    node: string;
    platform: string;
    redis: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  options: BenchOptions;
  tuning: TuningResult[];
  runs: RunRecord[];
  /** Runs that could not be measured, with the reason. */
  failures: { id: string; error: string }[];
  single: SingleTriggerResult;
  targets: TargetCheck[];
  profiles: CpuProfileSummary[];
}

/**
 * The whole bench: one simulator for every run, then tuning (when asked), drain, paced and bound
 * runs one after another (each on its own fresh Redis), the single-trigger ingest scenario, and
 * the verdict against the targets.
 */
export async function runBench(options: BenchOptions, log: Log): Promise<BenchResult> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const workDir = mkdtempSync(join(tmpdir(), 'fd-bench-'));
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const profileDir = options.cpuProfile
    ? join(options.outDir, `${stamp}-${options.name}-profiles`)
    : undefined;
  const sim = await SimulatorProcess.start({ latencyMs: options.latencyMs, dir: workDir });
  log(`simulator at ${sim.url}, ${options.latencyMs} ms per call; work files in ${workDir}`);

  const runs: RunRecord[] = [];
  const failures: { id: string; error: string }[] = [];
  const run = async (spec: RunSpec): Promise<RunRecord | undefined> => {
    log(`${spec.id}: ${spec.label}`);
    try {
      const record = await measureRun(spec, sim, workDir, log);
      log(`  ${spec.id}: ${describe(record)}`);
      return record;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      log(`  ${spec.id}: FAILED: ${error}`);
      failures.push({ id: spec.id, error });
      return undefined;
    }
  };

  try {
    const tuning: TuningResult[] = [];
    const tuned: Tuned = { b1: 100, b2: 100 };
    const wantsDrainOrPaced = options.scenarios.some((s) => s === 'drain' || s === 'paced');
    for (const system of ['B1', 'B2'] as const) {
      const setting = system === 'B1' ? options.b1Concurrency : options.b2Concurrency;
      if (setting !== 'tune') {
        tuned[system === 'B1' ? 'b1' : 'b2'] = setting;
        continue;
      }
      if (!options.systems.includes(system) || !wantsDrainOrPaced) continue;
      const candidates: TuningResult['candidates'] = [];
      const tuneRuns: RunRecord[] = [];
      for (const spec of tuneSpecs(options, system)) {
        const record = await run(spec);
        if (record) tuneRuns.push(record);
        candidates.push({
          concurrency: Number(spec.params.concurrency),
          triggersPerSecond: record?.throughput.drain ?? record?.throughput.endToEnd ?? null,
          status: record?.status ?? 'failed',
        });
      }
      const best = [...candidates].sort(
        (a, b) => (b.triggersPerSecond ?? 0) - (a.triggersPerSecond ?? 0),
      )[0];
      const chosen = best?.concurrency ?? 100;
      tuned[system === 'B1' ? 'b1' : 'b2'] = chosen;
      tuning.push({ system, chosen, candidates, runs: tuneRuns });
      log(`${system} concurrency tuned: ${chosen}`);
    }

    const specs: RunSpec[] = [
      ...(options.scenarios.includes('drain') ? drainSpecs(options, tuned, profileDir) : []),
      ...(options.scenarios.includes('paced') ? pacedSpecs(options, tuned, profileDir) : []),
      ...(options.scenarios.includes('bound') ? boundSpecs(options, tuned) : []),
    ];
    for (const spec of specs) {
      const record = await run(spec);
      if (record) runs.push(record);
    }

    const single: SingleTriggerResult = options.scenarios.includes('single')
      ? await runIngestScenario(options, { sim, workDir, log })
      : { status: 'skipped', reason: 'not asked for (--scenarios)' };

    const profiles = runs.flatMap((r) => (r.cpuProfile ? [r.cpuProfile] : []));
    const finishedAt = new Date();
    return {
      schema: 1,
      name: options.name,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      machine: {
        hostname: hostname(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        cpus: cpus().length,
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        redis: redisVersion(),
        loadAverageAtStart,
        loadAverageAtEnd: loadavg(),
      },
      options,
      tuning,
      runs,
      failures,
      single,
      targets: checkTargets(runs, single),
      profiles,
    };
  } finally {
    await sim.stop();
    // Worker logs are kept when a run failed.
    if (failures.length === 0) rmSync(workDir, { recursive: true, force: true });
    else log(`worker logs kept in ${workDir}`);
  }
}

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function describe(record: RunRecord): string {
  const rate = record.throughput.drain ?? record.throughput.endToEnd;
  const parts = [
    `${record.status}`,
    `${Math.round(rate ?? 0).toLocaleString('en-US')} triggers/s`,
    `${record.salesforce.calls} calls`,
    `p99 ${Math.round(record.latencyMs.p99 ?? 0)} ms`,
    record.delivery.lost === null
      ? `${record.delivery.undelivered} not sent yet (time box)`
      : `lost ${record.delivery.lost}`,
    `dup ${record.delivery.duplicates}`,
  ];
  return parts.join(', ');
}
