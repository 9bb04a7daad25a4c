// @ts-check
/**
 * The ingest benchmark: single-trigger requests against `flow-dispatcher ingest`, with group
 * commit and with one BullMQ job per trigger (INGEST_GROUP_COMMIT=off), the same binary, side by
 * side in one run.
 *
 * One ingest process per mode, both running side by side (each under a fresh prefix), warmed up,
 * then taking turns:
 *   1. throughput: `rounds` rounds; in each, for each number of clients in `concurrencies`, each
 *      mode in turn (the first alternating) gets that many clients, each sending its next request
 *      as soon as the last is answered (closed loop), for `throughputDurationMs`: triggers
 *      accepted/s. A mode's throughput is its best over the client counts: with a linger, group
 *      commit's answer time sets how many requests a few clients can send (Little's law), so only
 *      enough clients find what the server can take, while one job per trigger is saturated by
 *      a few. The speed-up is the median of the rounds' ratios of the two bests, so that a slow
 *      spell of the shared machine moves one round rather than the figure (every round's ratio,
 *      and the ratio at each client count, are in the report);
 *   2. latency at fixed rates (open loop), each mode in turn per rate: requests are started on a
 *      fixed schedule whatever the answers do, for `durationMs`, and each latency is measured from
 *      the moment the request was due, so a server (or generator) falling behind shows up.
 * No worker drains Redis meanwhile: the figures are the ingest write path alone. The load
 * generator, ingest and Redis share the machine.
 *
 * Run: `pnpm build && node bench/ingest/index.js [--quick]` (see README.md), or import
 * `runIngestBench(options)`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { parseRedisCpuMs } from '../dist/private-redis.js';
import { readCpuMs } from '../dist/process-probe.js';

const CLI_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
/**
 * Ingest runs with the image's default NODE_OPTIONS (its young-generation size: on Node 24 the
 * default one makes pauses several times longer, docs/benchmarks.md), as deployed.
 */
const IMAGE_NODE_OPTIONS =
  /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(
    readFileSync(new URL('../../deploy/docker/Dockerfile', import.meta.url), 'utf8'),
  )?.[1] ?? '';
const TOKEN = 'bench-ingest-token-0123456789';
const FLOW = 'Bench_Welcome_SMS';
const MODES = /** @type {const} */ (['one-job-per-trigger', 'group-commit']);

/**
 * @typedef {object} IngestBenchOptions
 * @property {string} [redisUrl] A Redis to use (each mode writes under a fresh prefix, removed
 *   at the end); by default a private redis-server is started and stopped.
 * @property {boolean} [quick] Short phases (3 s), for a smoke run.
 * @property {number[]} [rates] Fixed request rates for the latency phase, requests/s. Default [2000].
 * @property {number} [durationMs] Length of each fixed-rate phase. Default 10000 (quick: 3000).
 * @property {number} [throughputDurationMs] Length of each throughput round. Default 4000 (quick: 3000).
 * @property {number} [rounds] Throughput rounds per mode, the modes taking turns. Default 3 (quick: 1).
 * @property {number} [warmupMs] Unmeasured load before each mode's phases. Default 2000 (quick: 1000).
 * @property {number | number[]} [concurrency] Closed-loop clients of the throughput phase: each
 *   count in turn, each mode's best counting. Default [64, 128, 256].
 * @property {number} [lingerMs] INGEST_LINGER_MS of the group-commit mode. Default: ingest's own (2).
 * @property {(line: string) => void} [log] Progress lines. Default: stderr.
 *
 * Also accepted (from bench/src's hook) and unused here: simulatorUrl, latencyMs, workers.
 */

/**
 * @typedef {object} PhaseFigures
 * @property {number} requests Requests answered.
 * @property {number} accepted Answered 202.
 * @property {number} failed Anything else (status or transport error).
 * @property {number} perSecond Accepted triggers per second.
 * @property {number} p50Ms
 * @property {number} p99Ms
 * @property {number} maxMs
 * @property {number} jobs BullMQ jobs written during the phase.
 * @property {number} stored Triggers stored during the phase (the flow's pending counter).
 * @property {number | null} ingestCpuPercent CPU of the ingest process over the phase (100 = one core).
 * @property {MachineShare | null} cpu Where the machine's CPU went over the phase (Linux), so that a
 *   run on a busy or contended host can be told from a slow server.
 * @property {{ p50AtMostMs: number | null; p99AtMostMs: number | null; within25msPercent: number | null }} server
 *   Ingest's own request durations (its histogram): bucket bounds holding 50 % and 99 % of the
 *   phase's requests, and the share answered within 25 ms.
 */

/**
 * @typedef {object} MachineShare Shares of the machine's CPU over a phase, in % of one core (so up
 *   to 100 × cores), from /proc/stat, /proc/<pid>/stat, Redis's INFO and process.cpuUsage().
 * @property {number} busy All cores, not idle.
 * @property {number} ingest The ingest process under load.
 * @property {number} redis redis-server (INFO cpu: whatever Redis the run uses).
 * @property {number} generator This process, the load generator.
 * @property {number} rest The machine's busy time that is none of the three: other processes
 *   (the idle mode's ingest among them) and interrupts.
 * @property {number} steal Time the hypervisor gave this VM's vCPUs to someone else: a host
 *   busy with other guests, which slows every process here at once.
 */

/**
 * Runs the benchmark and returns its figures.
 * @param {IngestBenchOptions} [options]
 */
export async function runIngestBench(options = {}) {
  const quick = options.quick ?? false;
  const settings = {
    rates: options.rates?.length ? options.rates : [2_000],
    durationMs: options.durationMs ?? (quick ? 3_000 : 10_000),
    throughputDurationMs: options.throughputDurationMs ?? (quick ? 3_000 : 4_000),
    rounds: Math.max(1, options.rounds ?? (quick ? 1 : 3)),
    warmupMs: options.warmupMs ?? (quick ? 1_000 : 2_000),
    concurrencies: [
      ...new Set(
        [options.concurrency ?? [64, 128, 256]].flat().filter((c) => Number.isInteger(c) && c > 0),
      ),
    ].sort((a, b) => a - b),
    lingerMs: options.lingerMs,
  };
  if (settings.concurrencies.length === 0) {
    throw new Error('concurrency: give at least one whole number of clients above 0');
  }
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const ownRedis = options.redisUrl ? undefined : await startRedisServer();
  const redisUrl = options.redisUrl ?? /** @type {NonNullable<typeof ownRedis>} */ (ownRedis).url;
  const redis = new Redis(redisUrl);
  /** @type {Record<string, { throughput: PhaseFigures & { concurrency: number }; byConcurrency: (PhaseFigures & { concurrency: number })[]; paced: (PhaseFigures & { rate: number })[] }>} */
  const modes = {};
  /** @type {Record<number, number[]>} round ratios at each client count */
  const ratiosAt = {};
  /** @type {number[]} */
  const roundRatios = [];
  /** @type {string[]} */
  const prefixes = [];
  /** @type {Map<string, { ingest: Awaited<ReturnType<typeof startIngest>>; pool: Pool; jobs: () => Promise<number>; stored: () => Promise<number>; send: (n?: number, dueAt?: number) => ReturnType<typeof sendOne> }>} */
  const running = new Map();
  try {
    // Both modes run side by side and take turns, so that a slow spell of the machine (two
    // shared cores: the load generator, ingest and Redis) falls on both rather than on one.
    for (const mode of MODES) {
      // A fresh prefix per mode and run: nothing is flushed, so a shared Redis is safe to use.
      const prefix = `bench-${mode === 'group-commit' ? 'gc' : 'per'}-${Date.now().toString(36)}`;
      prefixes.push(prefix);
      const extra = { INGEST_GROUP_COMMIT: mode === 'group-commit' ? 'on' : 'off' };
      if (mode === 'group-commit' && settings.lingerMs !== undefined) {
        Object.assign(extra, { INGEST_LINGER_MS: String(settings.lingerMs) });
      }
      const ingest = await startIngest(redisUrl, prefix, extra);
      log(`ingest-bench: ${mode}: ingest pid ${ingest.pid} on ${ingest.url}`);
      // A connection per client, so that no client waits for another's connection.
      const connections = Math.max(...settings.concurrencies);
      const pool = new Pool(ingest.url, { connections, pipelining: 1 });
      let sequence = 0;
      running.set(mode, {
        ingest,
        pool,
        jobs: () => redis.llen(`{${prefix}}:q:${FLOW}:wait`),
        stored: async () => Number((await redis.hget(`{${prefix}}:pending`, FLOW)) ?? 0),
        send: (_n, dueAt) => sendOne(pool, sequence++, dueAt),
      });
    }
    const get = (/** @type {string} */ mode) =>
      /** @type {NonNullable<ReturnType<typeof running.get>>} */ (running.get(mode));
    for (const mode of MODES)
      await closedLoop(get(mode).send, settings.concurrencies[0] ?? 64, settings.warmupMs);

    /** @type {Map<string, Sample[]>} samples by mode and client count */
    const throughputSamples = new Map();
    const key = (/** @type {string} */ mode, /** @type {number} */ clients) => `${mode}@${clients}`;
    for (let r = 0; r < settings.rounds; r++) {
      // Alternate which mode goes first, so neither always follows the other.
      const order = r % 2 === 0 ? MODES : [...MODES].reverse();
      /** @type {Record<string, number>} each mode's best in this round */
      const best = {};
      for (const clients of settings.concurrencies) {
        /** @type {Record<string, number>} */
        const perSecond = {};
        for (const mode of order) {
          const { ingest, jobs, stored, send } = get(mode);
          const one = await sample(ingest, redis, { jobs, stored }, () =>
            closedLoop(send, clients, settings.throughputDurationMs),
          );
          throughputSamples.set(key(mode, clients), [
            ...(throughputSamples.get(key(mode, clients)) ?? []),
            one,
          ]);
          const roundFigures = figures([one]);
          perSecond[mode] = roundFigures.perSecond;
          best[mode] = Math.max(best[mode] ?? 0, roundFigures.perSecond);
          log(
            `ingest-bench: ${mode}: throughput round ${r + 1}, ${clients} clients: ${describe(roundFigures)}`,
          );
        }
        ratiosAt[clients] = [...(ratiosAt[clients] ?? []), ratio(perSecond)];
      }
      roundRatios.push(ratio(best));
    }
    for (const mode of MODES) {
      const byConcurrency = settings.concurrencies.map((clients) => ({
        concurrency: clients,
        ...figures(throughputSamples.get(key(mode, clients)) ?? []),
      }));
      const throughput = byConcurrency.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
      modes[mode] = { throughput, byConcurrency, paced: [] };
    }
    for (const rate of settings.rates) {
      for (const mode of MODES) {
        const { ingest, jobs, stored, send } = get(mode);
        const paced = figures([
          await sample(ingest, redis, { jobs, stored }, () =>
            openLoop(send, rate, settings.durationMs),
          ),
        ]);
        modes[mode]?.paced.push({ rate, ...paced });
        log(`ingest-bench: ${mode}: at ${rate} req/s ${describe(paced)}`);
      }
    }
  } finally {
    for (const { pool, ingest } of running.values()) {
      await pool.close();
      await ingest.stop();
    }
    if (!ownRedis) for (const prefix of prefixes) await deletePrefix(redis, prefix);
    redis.disconnect();
    await ownRedis?.stop();
  }
  const groupCommit = /** @type {NonNullable<(typeof modes)[string]>} */ (modes['group-commit']);
  const baseline = /** @type {NonNullable<(typeof modes)[string]>} */ (
    modes['one-job-per-trigger']
  );
  // The median of the rounds' ratios: one slow spell moves one round, not the figure.
  const speedup = median(roundRatios);
  const at2000 = groupCommit.paced.find((p) => p.rate === 2_000);
  return {
    date: new Date().toISOString(),
    machine: machine(),
    settings,
    modes,
    speedup: round(speedup, 2),
    roundRatios: roundRatios.map((r) => round(r, 2)),
    ratioByConcurrency: Object.fromEntries(
      settings.concurrencies.map((clients) => [clients, round(median(ratiosAt[clients] ?? []), 2)]),
    ),
    overallRatio: round(
      groupCommit.throughput.perSecond / Math.max(1, baseline.throughput.perSecond),
      2,
    ),
    targets: {
      'group commit ≥ 3× one job per trigger': speedup >= 3,
      'p99 < 25 ms at 2,000 req/s (group commit)': at2000
        ? at2000.p99Ms < 25 && at2000.failed === 0
        : null,
    },
  };
}

/**
 * Group commit's accepted triggers per second over one job per trigger's.
 * @param {Record<string, number>} perSecond by mode
 */
function ratio(perSecond) {
  return (perSecond['group-commit'] ?? 0) / Math.max(1, perSecond['one-job-per-trigger'] ?? 0);
}

/**
 * Removes what a run wrote under `prefix` (all keys are hash-tagged `{prefix}`).
 * @param {Redis} redis
 * @param {string} prefix
 */
async function deletePrefix(redis, prefix) {
  const stream = redis.scanStream({ match: `{${prefix}}*`, count: 1_000 });
  for await (const keys of stream) if (keys.length) await redis.unlink(...keys);
}

/**
 * One single-trigger request; resolves with its outcome and latency (from `dueAt`, in ms).
 * @param {Pool} pool
 * @param {number} n
 * @param {number} [dueAt] performance.now() at which the request was due
 */
async function sendOne(pool, n, dueAt = performance.now()) {
  const IndividualId = `0PKbench${String(n).padStart(10, '0')}`;
  const body = JSON.stringify({
    triggers: [{ input: { IndividualId, TelephoneNumber: '+15550100', Coupon_Code: 'WELCOME' } }],
  });
  try {
    const response = await pool.request({
      method: 'POST',
      path: `/v1/flows/${FLOW}/triggers`,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    await response.body.dump();
    return { ok: response.statusCode === 202, ms: performance.now() - dueAt };
  } catch {
    return { ok: false, ms: performance.now() - dueAt };
  }
}

/**
 * `clients` loops sending one request after another for `durationMs`.
 * @param {(n?: number, dueAt?: number) => Promise<{ ok: boolean; ms: number }>} send
 * @param {number} clients
 * @param {number} durationMs
 */
async function closedLoop(send, clients, durationMs) {
  /** @type {{ ok: boolean; ms: number }[]} */
  const results = [];
  const endAt = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < endAt) results.push(await send());
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  return { results, elapsedMs: performance.now() - started };
}

/**
 * Starts requests on a fixed schedule (`rate` per second) for `durationMs`, whatever the answers
 * do; latencies count from when each request was due.
 * @param {(n?: number, dueAt?: number) => Promise<{ ok: boolean; ms: number }>} send
 * @param {number} rate
 * @param {number} durationMs
 */
async function openLoop(send, rate, durationMs) {
  const total = Math.round((rate * durationMs) / 1_000);
  const interval = 1_000 / rate;
  /** @type {Promise<{ ok: boolean; ms: number }>[]} */
  const inFlight = [];
  const started = performance.now();
  let issued = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (issued < total && started + issued * interval <= now) {
        inFlight.push(send(undefined, started + issued * interval));
        issued++;
      }
      if (issued < total) setTimeout(tick, Math.max(0, started + issued * interval - now - 0.5));
      else resolve(undefined);
    };
    tick();
  });
  const results = await Promise.all(inFlight);
  // Until the last answer: a server that cannot keep up shows a lower rate, not just latency.
  return { results, elapsedMs: Math.max(durationMs, performance.now() - started) };
}

/**
 * @typedef {object} Sample
 * @property {{ ok: boolean; ms: number }[]} results
 * @property {number} elapsedMs
 * @property {number | null} cpuMs Ingest's CPU time over the phase.
 * @property {CpuUse | null} machineCpu The machine's CPU use over the phase (ms of CPU time).
 * @property {number} jobs BullMQ jobs written during the phase.
 * @property {number} stored Triggers stored during the phase.
 * @property {Map<number, number>} buckets Ingest's request-duration histogram over the phase.
 */

/**
 * @typedef {object} CpuUse CPU time over a window, in ms (one core for 1 s = 1,000 ms).
 * @property {number} busy
 * @property {number} steal
 * @property {number} ingest
 * @property {number} redis
 * @property {number} generator
 */

/**
 * Runs a phase, with the jobs written, ingest's CPU, where the machine's CPU went, and ingest's
 * own view of its request durations.
 * @param {{ pid: number; url: string }} ingest
 * @param {Redis} redis
 * @param {{ jobs: () => Promise<number>; stored: () => Promise<number> }} written
 * @param {() => Promise<{ results: { ok: boolean; ms: number }[]; elapsedMs: number }>} phase
 * @returns {Promise<Sample>}
 */
async function sample(ingest, redis, written, phase) {
  const jobsBefore = await written.jobs();
  const storedBefore = await written.stored();
  const bucketsBefore = await durationBuckets(ingest.url);
  const redisBefore = parseRedisCpuMs(await redis.info('cpu'));
  const machineBefore = machineCpuMs();
  const generatorBefore = process.cpuUsage();
  const cpuBefore = readCpuMs(ingest.pid);
  const { results, elapsedMs } = await phase();
  const cpuAfter = readCpuMs(ingest.pid);
  const generator = process.cpuUsage(generatorBefore);
  const machineAfter = machineCpuMs();
  const redisAfter = parseRedisCpuMs(await redis.info('cpu'));
  const bucketsAfter = await durationBuckets(ingest.url);
  const buckets = new Map(
    [...bucketsAfter].map(([le, count]) => [le, count - (bucketsBefore.get(le) ?? 0)]),
  );
  const cpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return {
    results,
    elapsedMs,
    cpuMs,
    machineCpu:
      machineBefore && machineAfter && cpuMs !== null
        ? {
            busy: machineAfter.busy - machineBefore.busy,
            steal: machineAfter.steal - machineBefore.steal,
            ingest: cpuMs,
            redis: redisAfter - redisBefore,
            generator: (generator.user + generator.system) / 1_000,
          }
        : null,
    jobs: (await written.jobs()) - jobsBefore,
    stored: (await written.stored()) - storedBefore,
    buckets,
  };
}

/**
 * The figures of one or more samples of a mode taken together.
 * @param {Sample[]} samples
 * @returns {PhaseFigures}
 */
function figures(samples) {
  const results = samples.flatMap((s) => s.results);
  const elapsedMs = samples.reduce((sum, s) => sum + s.elapsedMs, 0);
  const cpu = samples.every((s) => s.cpuMs !== null)
    ? samples.reduce((sum, s) => sum + (s.cpuMs ?? 0), 0)
    : null;
  const uses = samples.map((s) => s.machineCpu);
  /** @param {keyof CpuUse} key */
  const share = (key) =>
    Math.round((uses.reduce((sum, u) => sum + (u?.[key] ?? 0), 0) * 100) / Math.max(1, elapsedMs));
  /** @type {MachineShare | null} */
  const machineShare = uses.every((u) => u !== null)
    ? {
        busy: share('busy'),
        ingest: share('ingest'),
        redis: share('redis'),
        generator: share('generator'),
        rest: Math.max(0, share('busy') - share('ingest') - share('redis') - share('generator')),
        steal: share('steal'),
      }
    : null;
  /** @type {Map<number, number>} */
  const buckets = new Map();
  for (const s of samples)
    for (const [le, count] of s.buckets) buckets.set(le, (buckets.get(le) ?? 0) + count);
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  const accepted = results.filter((r) => r.ok).length;
  return {
    requests: results.length,
    accepted,
    failed: results.length - accepted,
    perSecond: Math.round((accepted * 1_000) / Math.max(1, elapsedMs)),
    p50Ms: round(percentile(latencies, 0.5), 2),
    p99Ms: round(percentile(latencies, 0.99), 2),
    maxMs: round(latencies.at(-1) ?? 0, 2),
    jobs: samples.reduce((sum, s) => sum + s.jobs, 0),
    stored: samples.reduce((sum, s) => sum + s.stored, 0),
    ingestCpuPercent: cpu === null ? null : Math.round((cpu * 100) / Math.max(1, elapsedMs)),
    cpu: machineShare,
    server: serverSide(buckets),
  };
}

/**
 * The cumulative buckets of ingest's `flow_dispatcher_ingest_request_duration_seconds` for the
 * triggers route: upper bound (s) → count.
 * @param {string} url
 * @returns {Promise<Map<number, number>>}
 */
async function durationBuckets(url) {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  const buckets = new Map();
  const pattern =
    /^flow_dispatcher_ingest_request_duration_seconds_bucket\{le="([^"]+)",route="triggers"\} (\d+)/;
  for (const line of text.split('\n')) {
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
 * Ingest's own view of a phase (from the request-duration histogram, so without the network,
 * the load generator's lag or the wait for a connection): the bucket bounds that hold 50 % and
 * 99 % of the phase's requests, and the share answered within 25 ms.
 * @param {Map<number, number>} buckets cumulative counts of the phase: upper bound (s) → count
 */
function serverSide(buckets) {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => buckets.get(le) ?? 0);
  const total = counts.at(-1) ?? 0;
  /** @param {number} q */
  const bound = (q) => {
    const i = counts.findIndex((c) => c >= q * total);
    const le = bounds[i] ?? Number.POSITIVE_INFINITY;
    return Number.isFinite(le) ? le * 1_000 : null;
  };
  const at25 = bounds.indexOf(0.025);
  return {
    p50AtMostMs: total ? bound(0.5) : null,
    p99AtMostMs: total ? bound(0.99) : null,
    within25msPercent: total && at25 >= 0 ? round(((counts[at25] ?? 0) * 100) / total, 2) : null,
  };
}

/**
 * @param {number[]} sorted
 * @param {number} q
 */
function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * @param {number} value
 * @param {number} digits
 */
function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** @param {PhaseFigures} f */
function describe(f) {
  const cpu = f.cpu
    ? `, CPU % of a core: ingest ${f.cpu.ingest}, Redis ${f.cpu.redis}, generator ${f.cpu.generator}, rest ${f.cpu.rest}, steal ${f.cpu.steal} (machine busy ${f.cpu.busy} of ${cpus().length * 100})`
    : f.ingestCpuPercent === null
      ? ''
      : `, ingest CPU ${f.ingestCpuPercent}%`;
  const server = `, server-side p99 ≤ ${f.server.p99AtMostMs ?? '?'} ms (${f.server.within25msPercent ?? '?'} % within 25 ms)`;
  return `${f.perSecond} triggers/s accepted (${f.accepted}/${f.requests}), p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms, ${f.jobs} jobs${cpu}${server}`;
}

/**
 * The machine's CPU time so far, in ms over all cores, from the first line of /proc/stat: busy
 * (neither idle nor waiting for I/O; steal excluded) and steal; null elsewhere than Linux.
 */
function machineCpuMs() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal … (guest time is inside user)
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    /** @param {number[]} at */
    const sum = (...at) => at.reduce((total, i) => total + (ticks[i] ?? Number.NaN), 0);
    const busy = sum(0, 1, 2, 5, 6);
    const steal = sum(7);
    if (!Number.isFinite(busy) || !Number.isFinite(steal)) return null;
    return { busy: (busy * 1_000) / 100, steal: (steal * 1_000) / 100 };
  } catch {
    return null;
  }
}

function machine() {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/**
 * `flow-dispatcher ingest` as a child process, once it says it is ready.
 * @param {string} redisUrl
 * @param {string} prefix
 * @param {Record<string, string>} extra
 */
async function startIngest(redisUrl, prefix, extra) {
  const child = spawn(process.execPath, [CLI_BIN, 'ingest'], {
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: IMAGE_NODE_OPTIONS,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      INGEST_PORT: '0',
      INGEST_TOKENS: TOKEN,
      INGEST_MAX_BACKLOG: '1000000000',
      LOG_LEVEL: 'info',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ingest did not start:\n${output}`)), 30_000);
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      output += chunk.toString('utf8');
      const line = output.split('\n').find((l) => l.includes('"msg":"ingest ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).port);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(() => reject(new Error(`ingest exited:\n${output}`)));
  });
  return {
    pid: /** @type {number} */ (child.pid),
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** @param {Awaited<ReturnType<typeof runIngestBench>>} report */
function printTable(report) {
  const rows = [];
  /**
   * @param {string} mode
   * @param {string} phase
   * @param {PhaseFigures} f
   */
  const row = (mode, phase, f) =>
    `| ${mode} | ${phase} | ${f.perSecond} | ${f.p50Ms} | ${f.p99Ms} | ${f.jobs} | ${f.failed} | ${f.server.p99AtMostMs ?? '-'} | ${f.server.within25msPercent ?? '-'} % | ${f.cpu ? `${f.cpu.ingest} / ${f.cpu.redis} / ${f.cpu.generator} / ${f.cpu.rest} / ${f.cpu.steal}` : (f.ingestCpuPercent ?? '-')} |`;
  for (const [mode, figures] of Object.entries(report.modes)) {
    for (const t of figures.byConcurrency) {
      const best = t.concurrency === figures.throughput.concurrency ? ' (best)' : '';
      rows.push(row(mode, `throughput, ${t.concurrency} clients${best}`, t));
    }
    for (const p of figures.paced) rows.push(row(mode, `fixed ${p.rate} req/s`, p));
  }
  return [
    '| mode | phase | accepted triggers/s | p50 ms | p99 ms | jobs written | failed | server-side p99 ≤ ms | server-side within 25 ms | CPU % of a core: ingest / Redis / generator / rest / steal |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `group commit / one job per trigger (throughput, each at its best client count): ${report.speedup}× (median of the rounds: ${report.roundRatios.join(', ')}; all rounds together ${report.overallRatio}×)`,
    `at the same client count: ${Object.entries(report.ratioByConcurrency)
      .map(([clients, r]) => `${clients} clients ${r}×`)
      .join(', ')}`,
    ...Object.entries(report.targets).map(
      ([target, met]) => `${target}: ${met === null ? 'not measured' : met ? 'met' : 'NOT met'}`,
    ),
  ].join('\n');
}

/**
 * The command line's options, or an Error naming the bad flag.
 * @param {string[]} args
 * @returns {{ help: true } | { help: false; json: boolean; options: IngestBenchOptions }}
 */
function parseFlags(args) {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      rate: { type: 'string', multiple: true },
      'duration-ms': { type: 'string' },
      'throughput-duration-ms': { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string', multiple: true },
      'linger-ms': { type: 'string' },
      'redis-url': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { help: true };
  /** @param {string} flag @param {string} value @param {number} [least] */
  const count = (flag, value, least = 1) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < least) {
      throw new Error(
        `--${flag} wants a whole number of at least ${least}, got ${JSON.stringify(value)}`,
      );
    }
    return n;
  };
  /** @param {string} flag @param {string | undefined} value */
  const optional = (flag, value) => (value === undefined ? undefined : count(flag, value));
  return {
    help: false,
    json: values.json,
    options: {
      quick: values.quick,
      rates: values.rate?.map((v) => count('rate', v)),
      durationMs: optional('duration-ms', values['duration-ms']),
      throughputDurationMs: optional('throughput-duration-ms', values['throughput-duration-ms']),
      rounds: optional('rounds', values.rounds),
      concurrency: values.concurrency?.map((v) => count('concurrency', v)),
      lingerMs:
        values['linger-ms'] === undefined ? undefined : count('linger-ms', values['linger-ms'], 0),
      redisUrl: values['redis-url'],
    },
  };
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  /** @type {ReturnType<typeof parseFlags>} */
  let flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    // Bad flags: one line and exit 2, as the product's CLI does.
    process.stderr.write(`ingest-bench: ${err instanceof Error ? err.message : err} (--help)\n`);
    process.exit(2);
  }
  if (flags.help) {
    process.stdout.write(
      'usage: node bench/ingest/index.js [--quick] [--rate N]... [--duration-ms N]\n' +
        '       [--throughput-duration-ms N] [--rounds N] [--concurrency N]... [--linger-ms N]\n' +
        '       [--redis-url URL] [--json]\n',
    );
  } else {
    const report = await runIngestBench(flags.options);
    process.stdout.write(
      flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${printTable(report)}\n`,
    );
  }
}
