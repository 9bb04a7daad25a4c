import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.js';
import type { CpuProfileSummary } from './cpu-profile-summary.js';
import { type MachineInfo, machineInfo } from './machine-info.js';
import { type Log, measureRun, type RunSpec } from './measured-run.js';
import type { RunRecord } from './run-record.js';
import type { ScenarioOutcome } from './scenario-outcome.js';
import { boundSpecs, drainSpecs, pacedSpecs, type Tuned, tuneSpecs } from './scenario-plan.js';
import { type ClusterReport, runClusterScenario } from './scenarios/cluster/cluster-scenario.js';
import type { SingleReport } from './scenarios/single/ingest-modes.js';
import { runSingleScenario } from './scenarios/single/single-scenario.js';
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
  /** 2: `single` and `cluster` are the harness's own scenarios (1: `single` ran bench/ingest). */
  schema: 2;
  name: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo & { loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  options: BenchOptions;
  tuning: TuningResult[];
  runs: RunRecord[];
  /** Runs and scenarios that could not be measured, with the reason. */
  failures: { id: string; error: string }[];
  single: ScenarioOutcome<SingleReport>;
  cluster: ScenarioOutcome<ClusterReport>;
  targets: TargetCheck[];
  profiles: CpuProfileSummary[];
}

/**
 * The whole bench: tuning (when asked), drain, paced and bound runs one after another (each on
 * its own fresh Redis, one simulator for them all), then the single-trigger ingest scenario and
 * the cluster scenario, and the verdict against the targets.
 */
export async function runBench(options: BenchOptions, log: Log): Promise<BenchResult> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const workDir = mkdtempSync(join(tmpdir(), 'fd-bench-'));
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const profileDir = options.cpuProfile
    ? join(options.outDir, `${stamp}-${options.name}-profiles`)
    : undefined;
  log(`work files in ${workDir}`);

  const failures: { id: string; error: string }[] = [];
  let sim: SimulatorProcess | undefined;
  try {
    const runs: RunRecord[] = [];
    const tuning: TuningResult[] = [];
    const systemRuns = options.scenarios.some(
      (s) => s === 'drain' || s === 'paced' || s === 'bound',
    );
    if (systemRuns) {
      sim = await SimulatorProcess.start({ latencyMs: options.latencyMs, dir: workDir });
      log(`simulator at ${sim.url}, ${options.latencyMs} ms per call`);
      const measure = measurer(sim, workDir, failures, log);
      const tuned = await tune(options, measure, tuning, log);
      const specs: RunSpec[] = [
        ...(options.scenarios.includes('drain') ? drainSpecs(options, tuned, profileDir) : []),
        ...(options.scenarios.includes('paced') ? pacedSpecs(options, tuned, profileDir) : []),
        ...(options.scenarios.includes('bound') ? boundSpecs(options, tuned) : []),
      ];
      for (const spec of specs) {
        const record = await measure(spec);
        if (record) runs.push(record);
      }
    }

    const scenario = async <T>(
      id: 'single' | 'cluster',
      measureScenario: () => Promise<T>,
    ): Promise<ScenarioOutcome<T>> => {
      if (!options.scenarios.includes(id)) {
        return { status: 'skipped', reason: 'not asked for (--scenarios)' };
      }
      log(
        `${id}: ${id === 'single' ? 'HTTP ingest, two modes' : 'queue partitions on a Redis Cluster'}`,
      );
      try {
        return { status: 'ok', result: await measureScenario() };
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        log(`  ${id}: FAILED: ${error}`);
        failures.push({ id, error });
        return { status: 'failed', error };
      }
    };
    const deps = { dir: workDir, log };
    const single = await scenario('single', () =>
      runSingleScenario(options.single, options.ingestEnv, deps),
    );
    const cluster = await scenario('cluster', () =>
      runClusterScenario(options.cluster, options.workerEnv, deps),
    );

    const profiles = runs.flatMap((r) => (r.cpuProfile ? [r.cpuProfile] : []));
    return {
      schema: 2,
      name: options.name,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { ...machineInfo(), loadAverageAtStart, loadAverageAtEnd: loadavg() },
      options,
      tuning,
      runs,
      failures,
      single,
      cluster,
      targets: checkTargets(runs, single),
      profiles,
    };
  } finally {
    await sim?.stop();
    // Process logs are kept when something failed.
    if (failures.length === 0) rmSync(workDir, { recursive: true, force: true });
    else log(`process logs kept in ${workDir}`);
  }
}

type Measure = (spec: RunSpec) => Promise<RunRecord | undefined>;

/** Measures one run; a run that fails is logged and listed, and the bench goes on. */
function measurer(
  sim: SimulatorProcess,
  workDir: string,
  failures: { id: string; error: string }[],
  log: Log,
): Measure {
  return async (spec) => {
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
}

/** B1's and B2's concurrency: as given, or the fastest of a sweep of short drains. */
async function tune(
  options: BenchOptions,
  measure: Measure,
  tuning: TuningResult[],
  log: Log,
): Promise<Tuned> {
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
      const record = await measure(spec);
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
  return tuned;
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
