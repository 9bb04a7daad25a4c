import { alignColumns } from './align-columns.js';
import type { BenchResult } from './run-bench.js';
import type { RunRecord } from './run-record.js';
import { clusterLines } from './scenarios/cluster/cluster-report.js';
import { singleLines } from './scenarios/single/single-report.js';
import { cpuPer1k } from './targets.js';

const integer = (n: number | null | undefined) =>
  n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US');
const decimal = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined ? '-' : n.toFixed(digits);

function callsPerTrigger(value: number | null): string {
  if (value === null) return '-';
  if (value >= 0.5) return value.toFixed(2);
  return `1/${Math.round(1 / value)}`;
}

/** The consumer-side processes of a system: B0's consumers, B2's and ours' workers. */
function consumerRole(record: RunRecord): string {
  return record.system === 'B0' ? 'consumer' : 'worker';
}

function peakRss(record: RunRecord, role: string): number | null {
  const values = record.processes.filter((p) => p.role === role).map((p) => p.peakRssMb);
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return Math.max(...(values as number[]));
}

/** The table printed at the end of a run (pure). */
export function runsTable(runs: readonly RunRecord[]): string {
  const header = [
    'run',
    'triggers',
    'e2e/s',
    'drain/s',
    'calls/trig',
    'p50 ms',
    'p99 ms',
    'max ms',
    'cpu/1k prod',
    'cons',
    'ingest',
    'redis',
    'sim',
    'rss cons',
    'rss redis',
    'lost',
    'dup',
  ];
  const rows = runs.map((r) => {
    const consumer = consumerRole(r);
    return [
      `${r.id}${r.status === 'ok' ? '' : ` (${r.status})`}`,
      integer(r.triggers),
      integer(r.throughput.endToEnd),
      integer(r.throughput.drain),
      callsPerTrigger(r.salesforce.callsPerTrigger),
      integer(r.latencyMs.p50),
      integer(r.latencyMs.p99),
      integer(r.latencyMs.max),
      decimal(cpuPer1k(r, 'producer')),
      r.system === 'B1' ? '-' : decimal(cpuPer1k(r, consumer)),
      r.system === 'ours-ingest' ? decimal(cpuPer1k(r, 'ingest')) : '-',
      decimal(cpuPer1k(r, 'redis')),
      decimal(cpuPer1k(r, 'simulator')),
      r.system === 'B1' ? '-' : integer(peakRss(r, consumer)),
      integer(peakRss(r, 'redis')),
      integer(r.delivery.lost),
      integer(r.delivery.duplicates),
    ];
  });
  return alignColumns([header, ...rows]);
}

/**
 * The whole report: runs, tuning, targets, the single and cluster scenarios, profiles (pure).
 * `files.svg` is absent when there was no run to chart.
 */
export function benchReport(result: BenchResult, files: { json: string; svg?: string }): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `flow-dispatcher bench "${result.name}", ${result.startedAt}, ${result.machine.cpus} × ${result.machine.cpuModel}, node ${result.machine.node}, ${result.machine.redis.split(' ').slice(0, 3).join(' ')}`,
  );
  const loadAverage = result.machine.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ');
  lines.push(
    result.runs.length > 0
      ? `simulated Salesforce latency ${result.options.latencyMs} ms; load average ${loadAverage} at start`
      : `load average ${loadAverage} at start`,
  );
  if (result.runs.length > 0) {
    lines.push('');
    lines.push(runsTable(result.runs));
    lines.push('');
    lines.push(
      'e2e/s: answered per second from the first hand-over to the last answer; drain/s: from the release of the held backlog. cpu/1k: CPU ms per 1,000 triggers (prod = load generator; cons = consumers/workers, summed; redis from INFO cpu). rss: peak MB (largest process of the role). lost/dup: from the simulator record.',
    );
  }
  for (const run of result.runs)
    for (const note of run.notes) lines.push(`note: ${run.id}: ${note}`);
  for (const tuning of result.tuning) {
    lines.push(
      `${tuning.system} concurrency tuned to ${tuning.chosen}: ${tuning.candidates
        .map((c) => `${c.concurrency} → ${integer(c.triggersPerSecond)}/s`)
        .join(', ')}`,
    );
  }
  for (const failure of result.failures) lines.push(`FAILED ${failure.id}: ${failure.error}`);
  // The targets are of the system runs and the single scenario; cluster alone has none.
  if (result.runs.length > 0 || result.single.status !== 'skipped') {
    lines.push('');
    lines.push('targets (issue 7):');
    lines.push(
      alignColumns(
        result.targets.map((t) => [
          `  ${t.pass === null ? '  ?' : t.pass ? ' ok' : 'MISS'}  ${t.target}`,
          t.goal,
          t.measured,
        ]),
      ),
    );
  }
  if (result.single.status !== 'skipped') lines.push('', ...singleLines(result.single));
  if (result.cluster.status !== 'skipped') lines.push('', ...clusterLines(result.cluster));
  for (const profile of result.profiles) {
    lines.push('');
    lines.push(
      `ours' workers, CPU profile ${profile.dir.split('/').at(-1)} (${profile.files.length} files, ${integer(profile.busyMs)} ms busy, ${integer(profile.idleMs)} ms idle): top self time`,
    );
    for (const entry of profile.topFunctions.slice(0, 15)) {
      lines.push(`  ${entry.percent.toFixed(1).padStart(5)} %  ${entry.name}`);
    }
    lines.push('  by package:');
    for (const entry of profile.byPackage.slice(0, 10)) {
      lines.push(`  ${entry.percent.toFixed(1).padStart(5)} %  ${entry.name}`);
    }
  }
  lines.push('');
  lines.push(`written: ${files.json}`);
  if (files.svg) lines.push(`         ${files.svg}`);
  return lines.join('\n');
}
