import { alignColumns } from '../../align-columns.js';
import { outcomeLine, type ScenarioOutcome } from '../../scenario-outcome.js';
import type { PhaseFigures } from './ingest-figures.js';
import type { SingleReport } from './ingest-modes.js';

const TITLE = 'single-trigger HTTP ingest (the write path, no worker draining)';

const dash = (value: number | null) => (value === null ? '-' : String(value));

/** The single scenario's part of the bench's report (pure). */
export function singleLines(outcome: ScenarioOutcome<SingleReport>): string[] {
  if (outcome.status !== 'ok') return [outcomeLine(TITLE, outcome)];
  const report = outcome.result;
  const rows = [
    [
      '  mode, phase',
      'accepted/s',
      'p50 ms',
      'p99 ms',
      'jobs',
      'failed',
      'server p99 ≤ ms',
      '≤ 25 ms',
      'cpu %: ingest / redis / generator / rest / steal',
    ],
  ];
  const row = (name: string, f: PhaseFigures) =>
    rows.push([
      `  ${name}`,
      String(f.perSecond),
      String(f.p50Ms),
      String(f.p99Ms),
      String(f.jobs),
      String(f.failed),
      dash(f.server.p99AtMostMs),
      f.server.within25msPercent === null ? '-' : `${f.server.within25msPercent} %`,
      f.cpu
        ? `${f.cpu.ingest} / ${f.cpu.redis} / ${f.cpu.generator} / ${f.cpu.rest} / ${f.cpu.steal}`
        : dash(f.ingestCpuPercent),
    ]);
  for (const [mode, figures] of Object.entries(report.modes)) {
    for (const t of figures.byConcurrency) {
      const best = t.concurrency === figures.throughput.concurrency ? ' (best)' : '';
      row(`${mode}, ${t.concurrency} clients${best}`, t);
    }
    for (const p of figures.paced) row(`${mode}, ${p.rate} req/s`, p);
  }
  return [
    `${TITLE}:`,
    alignColumns(rows),
    `  group commit / one job per trigger at saturation (each at its best client count): ${report.speedup}× (median of the rounds: ${report.roundRatios.join(', ')}; all rounds together ${report.overallRatio}×)`,
    `  at the same client count: ${Object.entries(report.ratioByConcurrency)
      .map(([clients, r]) => `${clients} clients ${r}×`)
      .join(', ')}`,
  ];
}
