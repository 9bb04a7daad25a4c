import { alignColumns } from '../../align-columns.js';
import { outcomeLine, type ScenarioOutcome } from '../../scenario-outcome.js';
import type { ClusterReport } from './cluster-scenario.js';

const TITLE = 'cluster: one queue partition against several, on a Redis Cluster';

const dash = (value: number | undefined | null) =>
  value === undefined || value === null ? '-' : String(value);

/** The cluster scenario's part of the bench's report (pure). */
export function clusterLines(outcome: ScenarioOutcome<ClusterReport>): string[] {
  if (outcome.status !== 'ok') return [outcomeLine(TITLE, outcome)];
  const { settings, runs, note } = outcome.result;
  const rows = [
    [
      '  setting, phase',
      'triggers/s',
      'redis cpu/1k per master',
      'all masters',
      'worker cpu %',
      'calls',
      'redis bytes/trigger',
    ],
  ];
  for (const run of runs) {
    for (const [phase, f] of [
      ['write', run.write],
      ['drain', run.drain],
    ] as const) {
      rows.push([
        `  ${run.name}, ${phase}`,
        String(f.perSecond),
        Object.values(f.redisCpuMsPer1000).join(' / '),
        String(f.redisCpuMsPer1000Total),
        dash(f.workerCpuPercent),
        dash(f.calls),
        dash(f.redisBytesPerTrigger),
      ]);
    }
  }
  return [
    `${TITLE}: ${settings.triggers} triggers per setting in chunks of ${settings.chunkSize}, ${settings.latencyMs} ms per simulated call`,
    alignColumns(rows),
    '  redis cpu/1k: CPU ms per 1,000 triggers (INFO cpu). redis bytes/trigger: after the write, what a waiting trigger takes; after the drain, what its outcome record keeps taking.',
    `  ${note}`,
  ];
}
