import { quantile, roundTo } from '../../latency-summary.js';
import type { RequestResult } from './ingest-requests.js';

/** CPU time over a phase, in ms (one core for 1 s = 1,000 ms). */
export interface CpuUse {
  /** The machine, all cores, not idle (/proc/stat). */
  busy: number;
  /** Time the hypervisor gave this VM's vCPUs to other guests. */
  steal: number;
  /** The ingest process under load (/proc/<pid>/stat). */
  ingest: number;
  /** redis-server (its INFO cpu: whatever Redis the run uses). */
  redis: number;
  /** The load generator's own process. */
  generator: number;
}

/** What one phase of one mode measured, before it is summed up into figures. */
export interface Sample {
  results: RequestResult[];
  elapsedMs: number;
  /** Ingest's CPU time over the phase; null where /proc cannot be read. */
  cpuMs: number | null;
  /** Where the machine's CPU went over the phase; null where it cannot be read. */
  machineCpu: CpuUse | null;
  /** BullMQ jobs written during the phase. */
  jobs: number;
  /** Triggers stored during the phase (the flow's pending counter). */
  stored: number;
  /** Ingest's request-duration histogram over the phase: upper bound (s) → cumulative count. */
  buckets: Map<number, number>;
}

/**
 * Shares of the machine's CPU over a phase, in % of one core (so up to 100 × cores), so that a
 * run on a busy or contended host can be told from a slow server.
 */
export interface MachineShare {
  busy: number;
  ingest: number;
  redis: number;
  generator: number;
  /** The machine's busy time that is none of the three: other processes, interrupts. */
  rest: number;
  steal: number;
}

/** Ingest's own view of a phase, from its request-duration histogram. */
export interface ServerSide {
  /** The bucket bounds holding 50 % and 99 % of the phase's requests, in ms. */
  p50AtMostMs: number | null;
  p99AtMostMs: number | null;
  /** The share answered within 25 ms, in %. */
  within25msPercent: number | null;
}

/** The figures of one phase (or of several phases of a mode taken together). */
export interface PhaseFigures {
  /** Requests answered. */
  requests: number;
  /** Answered 202. */
  accepted: number;
  /** Anything else (status or transport error). */
  failed: number;
  /** Accepted triggers per second. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** BullMQ jobs written. */
  jobs: number;
  /** Triggers stored. */
  stored: number;
  /** CPU of the ingest process (100 = one core). */
  ingestCpuPercent: number | null;
  cpu: MachineShare | null;
  server: ServerSide;
}

/** The figures of one or more samples of a mode taken together (pure). */
export function phaseFigures(samples: readonly Sample[]): PhaseFigures {
  const results = samples.flatMap((s) => s.results);
  const elapsedMs = samples.reduce((sum, s) => sum + s.elapsedMs, 0);
  const cpu = samples.every((s) => s.cpuMs !== null)
    ? samples.reduce((sum, s) => sum + (s.cpuMs ?? 0), 0)
    : null;
  const uses = samples.map((s) => s.machineCpu);
  const share = (key: keyof CpuUse) =>
    Math.round((uses.reduce((sum, u) => sum + (u?.[key] ?? 0), 0) * 100) / Math.max(1, elapsedMs));
  const machineShare: MachineShare | null = uses.every((u) => u !== null)
    ? {
        busy: share('busy'),
        ingest: share('ingest'),
        redis: share('redis'),
        generator: share('generator'),
        rest: Math.max(0, share('busy') - share('ingest') - share('redis') - share('generator')),
        steal: share('steal'),
      }
    : null;
  const buckets = new Map<number, number>();
  for (const s of samples)
    for (const [le, count] of s.buckets) buckets.set(le, (buckets.get(le) ?? 0) + count);
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  const accepted = results.filter((r) => r.ok).length;
  return {
    requests: results.length,
    accepted,
    failed: results.length - accepted,
    perSecond: Math.round((accepted * 1_000) / Math.max(1, elapsedMs)),
    p50Ms: roundTo(quantile(latencies, 0.5) ?? 0, 2),
    p99Ms: roundTo(quantile(latencies, 0.99) ?? 0, 2),
    maxMs: roundTo(latencies.at(-1) ?? 0, 2),
    jobs: samples.reduce((sum, s) => sum + s.jobs, 0),
    stored: samples.reduce((sum, s) => sum + s.stored, 0),
    ingestCpuPercent: cpu === null ? null : Math.round((cpu * 100) / Math.max(1, elapsedMs)),
    cpu: machineShare,
    server: serverSide(buckets),
  };
}

/**
 * The cumulative buckets of ingest's `flow_dispatcher_ingest_request_duration_seconds` for the
 * triggers route, from its /metrics text: upper bound (s) → count (pure).
 */
export function parseDurationBuckets(metrics: string): Map<number, number> {
  const buckets = new Map<number, number>();
  const pattern =
    /^flow_dispatcher_ingest_request_duration_seconds_bucket\{le="([^"]+)",route="triggers"\} (\d+)/;
  for (const line of metrics.split('\n')) {
    const match = pattern.exec(line);
    if (match)
      buckets.set(
        match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]),
        Number(match[2]),
      );
  }
  return buckets;
}

/**
 * Ingest's own view of a phase (without the network, the load generator's lag or the wait for a
 * connection), from the phase's cumulative bucket counts (pure).
 */
export function serverSide(buckets: ReadonlyMap<number, number>): ServerSide {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => buckets.get(le) ?? 0);
  const total = counts.at(-1) ?? 0;
  const bound = (q: number) => {
    const i = counts.findIndex((c) => c >= q * total);
    const le = bounds[i] ?? Number.POSITIVE_INFINITY;
    return Number.isFinite(le) ? le * 1_000 : null;
  };
  const at25 = bounds.indexOf(0.025);
  return {
    p50AtMostMs: total ? bound(0.5) : null,
    p99AtMostMs: total ? bound(0.99) : null,
    within25msPercent: total && at25 >= 0 ? roundTo(((counts[at25] ?? 0) * 100) / total, 2) : null,
  };
}

/** One phase's figures as a progress line (pure). `cpus`: the machine's cores. */
export function describeIngestPhase(f: PhaseFigures, cpus: number): string {
  const cpu = f.cpu
    ? `, CPU % of a core: ingest ${f.cpu.ingest}, Redis ${f.cpu.redis}, generator ${f.cpu.generator}, rest ${f.cpu.rest}, steal ${f.cpu.steal} (machine busy ${f.cpu.busy} of ${cpus * 100})`
    : f.ingestCpuPercent === null
      ? ''
      : `, ingest CPU ${f.ingestCpuPercent}%`;
  const server = `, server-side p99 ≤ ${f.server.p99AtMostMs ?? '?'} ms (${f.server.within25msPercent ?? '?'} % within 25 ms)`;
  return `${f.perSecond} triggers/s accepted (${f.accepted}/${f.requests}), p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms, ${f.jobs} jobs${cpu}${server}`;
}
