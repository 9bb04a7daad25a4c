/** Formatting of the demo's live line and final summary (pure). */
import { formatCount as fmt, formatOneDecimal } from '../output/format-number.js';

export { fmt };

export interface DemoProgress {
  enqueued: number;
  total: number;
  settled: number;
  calls: number;
  inputsSent: number;
  perSecond: number;
}

export function progressLine(p: DemoProgress): string {
  const perCall = p.calls > 0 ? formatOneDecimal(p.inputsSent / p.calls) : '-';
  return [
    `enqueued ${fmt(p.enqueued)}/${fmt(p.total)}`,
    `settled ${fmt(p.settled)}`,
    `calls ${fmt(p.calls)}`,
    `inputs/call ${perCall}`,
    `${fmt(p.perSecond)} triggers/s`,
  ].join(' │ ');
}

/** Exact quantile of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export interface DemoSummary {
  total: number;
  flows: number;
  elapsedMs: number;
  succeeded: number;
  retried: number;
  dead: number;
  deadReasons: { code: string; message: string; count: number }[];
  calls: number;
  inputsSent: number;
  latenciesMs: number[];
  logFile: string;
}

export function summaryTable(s: DemoSummary): string {
  const sorted = [...s.latenciesMs].sort((a, b) => a - b);
  const seconds = s.elapsedMs / 1000;
  const rows: [string, string, string?][] = [
    ['succeeded', fmt(s.succeeded)],
    [
      'dead-lettered',
      fmt(s.dead),
      s.deadReasons.map((r) => `${fmt(r.count)} × ${r.code}: ${r.message}`).join('; '),
    ],
    [
      'retried (transient)',
      fmt(s.retried),
      'sent again later, alone; a retried trigger can still succeed',
    ],
    [
      'Salesforce calls',
      fmt(s.calls),
      `1 call per ${formatOneDecimal(s.total / Math.max(1, s.calls))} triggers; calling directly costs ${fmt(s.total)}`,
    ],
    ['inputs per call', s.calls ? formatOneDecimal(s.inputsSent / s.calls) : '-'],
    [
      'enqueue → answer',
      `p50 ${fmt(quantile(sorted, 0.5))} ms`,
      `p99 ${fmt(quantile(sorted, 0.99))} ms, max ${fmt(sorted.at(-1) ?? 0)} ms`,
    ],
    [
      'throughput',
      `${fmt(s.total / Math.max(seconds, 0.001))}/s`,
      `${fmt(s.total)} triggers in ${formatOneDecimal(seconds)} s, enqueue included`,
    ],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  const valueWidth = Math.max(...rows.map((r) => r[1].length));
  const lines = rows.map(
    ([label, value, note]) =>
      `  ${label.padEnd(width)}  ${value.padStart(valueWidth)}${note ? `   ${note}` : ''}`,
  );
  return [
    '',
    `flow-dispatcher demo: ${fmt(s.total)} triggers over ${s.flows} flows`,
    '',
    ...lines,
    '',
    `  worker log: ${s.logFile}`,
    '',
  ].join('\n');
}
