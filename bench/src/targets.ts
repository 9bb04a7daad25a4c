import type { RunRecord } from './run-record.js';
import type { ScenarioOutcome } from './scenario-outcome.js';
import type { SingleReport } from './scenarios/single/ingest-modes.js';

/** One of issue 7's targets against what a run measured. */
export interface TargetCheck {
  target: string;
  goal: string;
  measured: string;
  /** null: not measured in this run (system or scenario left out, or pending). */
  pass: boolean | null;
}

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined
    ? 'n/a'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Sum of the CPU ms per 1,000 triggers of the processes with `role` (pure). */
export function cpuPer1k(record: RunRecord | undefined, role: string): number | null {
  if (!record) return null;
  const values = record.processes.filter((p) => p.role === role).map((p) => p.cpuMsPer1k);
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0);
}

/** Successful calls per second from the release to the end of the window (bound runs). */
export function achievedCallRate(record: RunRecord): number | null {
  const seconds = (record.timing.windowEndAt - record.timing.releaseAt) / 1000;
  const ok = record.salesforce.byStatus['200'] ?? 0;
  return seconds > 0 ? ok / seconds : null;
}

/** Checks issue 7's targets (pure). */
export function checkTargets(
  runs: readonly RunRecord[],
  single: ScenarioOutcome<SingleReport>,
): TargetCheck[] {
  const find = (id: string) => runs.find((r) => r.id === id && r.status === 'ok');
  const ours = find('drain/ours');
  const b0 = find('drain/B0');
  const b2 = find('drain/B2');
  const oursRate = ours?.throughput.drain ?? null;
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a == null || b == null || b === 0 ? null : a / b;
  const checks: TargetCheck[] = [];

  checks.push({
    target: 'bulk drain',
    goal: '≥ 50,000 triggers/s',
    measured: `${fmt(oursRate)} triggers/s`,
    pass: oursRate === null ? null : oursRate >= 50_000,
  });
  const vsB2 = ratio(oursRate, b2?.throughput.drain);
  checks.push({
    target: 'bulk drain vs B2',
    goal: '≥ 10×',
    measured: `${fmt(vsB2, 1)}×`,
    pass: vsB2 === null ? null : vsB2 >= 10,
  });
  const vsB0 = ratio(oursRate, b0?.throughput.drain);
  checks.push({
    target: 'bulk drain vs B0',
    goal: '≥ 50 %',
    measured: vsB0 === null ? 'n/a' : `${fmt(vsB0 * 100)} %`,
    pass: vsB0 === null ? null : vsB0 >= 0.5,
  });
  const perTrigger = ours?.salesforce.callsPerTrigger ?? null;
  checks.push({
    target: 'calls per trigger at saturation',
    goal: '≤ 1/150',
    measured: perTrigger === null ? 'n/a' : `1/${fmt(1 / perTrigger, 1)}`,
    pass: perTrigger === null ? null : perTrigger <= 1 / 150,
  });
  const workerRatio = ratio(cpuPer1k(ours, 'worker'), cpuPer1k(b2, 'worker'));
  checks.push({
    target: 'worker CPU per 1,000 triggers vs B2',
    goal: '≤ 1/5 (20 %)',
    measured:
      workerRatio === null
        ? 'n/a'
        : `${fmt(cpuPer1k(ours, 'worker'), 1)} vs ${fmt(cpuPer1k(b2, 'worker'), 1)} ms (${fmt(workerRatio * 100, 1)} %)`,
    pass: workerRatio === null ? null : workerRatio <= 0.2,
  });

  for (const system of ['ours', 'ours-ingest'] as const) {
    const paced = find(`paced-1000/${system}`);
    if (!paced && system === 'ours-ingest') continue;
    const budgetMs = paced
      ? Number(paced.params.lingerMs) + Number(paced.params.latencyMs) + 50
      : null;
    checks.push({
      target: `p99 enqueue→answer at 1,000/s, ${system === 'ours' ? 'producer library' : 'HTTP ingest'}`,
      goal: budgetMs === null ? '≤ linger + latency + 50 ms' : `≤ ${fmt(budgetMs)} ms`,
      measured: `${fmt(paced?.latencyMs.p99)} ms`,
      pass:
        paced && budgetMs !== null && paced.latencyMs.p99 !== null
          ? paced.latencyMs.p99 <= budgetMs
          : null,
    });
  }

  const ingest = single.status === 'ok' ? single.result : undefined;
  checks.push({
    target: 'single-trigger ingest at saturation vs one job per trigger (same HTTP front)',
    goal: '≥ 3×',
    measured: ingest ? `${fmt(ingest.speedup, 2)}×` : single.status,
    pass: ingest ? ingest.speedup >= 3 : null,
  });
  const at2000 = ingest?.modes['group-commit'].paced.find((p) => p.rate === 2_000);
  checks.push({
    target: 'ingest request p99 at 2,000 req/s (issue 3)',
    goal: '< 25 ms',
    measured: at2000 ? `${fmt(at2000.p99Ms, 1)} ms` : single.status,
    pass: at2000 ? at2000.p99Ms < 25 && at2000.failed === 0 : null,
  });

  const boundC = runs.find((r) => r.id === 'bound-concurrency/ours');
  if (boundC) {
    const limit = Number(boundC.params.boundConcurrency);
    const inFlight = boundC.salesforce.inFlight;
    const rate = achievedCallRate(boundC);
    // The allowed rate: every slot busy all the time, with calls as long as the simulator took.
    const allowed =
      inFlight && inFlight.meanCallMs > 0 ? (limit * 1000) / inFlight.meanCallMs : null;
    const over =
      boundC.salesforce.highestConcurrency > limit ||
      boundC.salesforce.refusedForLimits.concurrency > 0;
    const share = rate !== null && allowed !== null ? rate / allowed : null;
    checks.push({
      target: 'bound: SF_MAX_CONCURRENCY across the fleet',
      goal: `≥ 95 % of the allowed call rate, never above ${limit} in flight`,
      measured: `${fmt(rate, 1)} calls/s of ${fmt(allowed, 1)} allowed (${fmt(share === null ? null : share * 100)} %; ${fmt(inFlight?.mean, 2)} in flight on average), highest ${boundC.salesforce.highestConcurrency}, ${boundC.salesforce.refusedForLimits.concurrency} refused`,
      pass: share === null ? null : share >= 0.95 && !over,
    });
  }
  const boundD = runs.find((r) => r.id === 'bound-daily/ours');
  if (boundD) {
    const allowed = Number(boundD.params.allowedCalls);
    const used = boundD.salesforce.apiUsed;
    checks.push({
      target: 'bound: SF_DAILY_API_SHARE',
      goal: `≥ 95 % of ${fmt(allowed)} requests, never above`,
      measured: `${fmt(used)} requests charged (${fmt((used / allowed) * 100)} %), ${boundD.salesforce.refusedForLimits.daily} refused by the org`,
      pass: used <= allowed && used >= 0.95 * allowed,
    });
  }
  return checks;
}
