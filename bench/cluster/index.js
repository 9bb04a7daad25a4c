// @ts-check
/**
 * The Redis Cluster benchmark: the same workload with QUEUE_PARTITIONS=1 and with 3 partitions on
 * one local 3-master Redis Cluster, to see what partitioning costs and where the Redis work goes.
 *
 * Per setting, on a fresh prefix:
 *   1. write: the producer library enqueues `triggers` triggers of one flow (chunks of
 *      `chunkSize`, without keys: round robin over the partitions), 4 chunk writes at a time;
 *   2. drain: a `flow-dispatcher worker` process (a child, like production) is started with the
 *      flow paused (so its start-up is not measured), the flow is resumed, and the worker drains
 *      the triggers into the simulator (in this process, `latencyMs` per call): triggers
 *      delivered per second, from the resume to the last delivery.
 * Each phase records every master's CPU (`INFO cpu`: used_cpu_user + used_cpu_sys, deltas), so
 * the figures say how much Redis CPU 1,000 triggers cost on each node, and the worker's own CPU.
 *
 * On a small machine (two cores) the load generator, the worker and the three masters share the
 * same cores: three partitions cannot be faster here, and the figures show the overhead of
 * partitioning (more BullMQ consumers, more round trips), not the gain of spreading the work
 * over machines. The per-node CPU per 1,000 triggers is the number to size a cluster with
 * (docs/scaling.md).
 *
 * Run: `pnpm build && node bench/cluster/index.js [--quick]` (see README.md), or import
 * `runClusterBench(options)`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FlowControl, Producer } from '@flow-dispatcher/producer';
import { startSimulator } from '@flow-dispatcher/simulator';
import { startRedisCluster } from '@flow-dispatcher/testkit';
import { Cluster } from 'ioredis';

const CLI_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const FLOW = 'Welcome_SMS';

/**
 * @typedef {object} ClusterBenchOptions
 * @property {string} [clusterUrl] A Redis Cluster to use (`redis://host:port,host:port,…`); each
 *   setting writes under a fresh prefix that is removed at the end. By default a private
 *   3-master cluster of redis-servers from PATH is started and stopped.
 * @property {boolean} [quick] 20,000 triggers instead of 100,000, for a smoke run.
 * @property {number} [triggers] Triggers per setting. Default 100000 (quick: 20000).
 * @property {number} [chunkSize] Triggers per chunk job (PRODUCER_CHUNK_SIZE). Default 1000.
 * @property {number[]} [partitions] QUEUE_PARTITIONS settings to compare. Default [1, 3].
 * @property {number} [latencyMs] Simulated Salesforce latency per call. Default 20.
 * @property {(line: string) => void} [log] Progress lines. Default: stderr.
 *
 * Also accepted (from the bench harness) and unused: redisUrl, simulatorUrl, workers.
 */

/**
 * @typedef {object} PhaseFigures
 * @property {number} triggers
 * @property {number} elapsedMs
 * @property {number} perSecond Triggers written (write) or delivered (drain) per second.
 * @property {Record<string, number>} redisCpuMs CPU each master spent in the phase, by `host:port`.
 * @property {Record<string, number>} redisCpuMsPer1000 The same per 1,000 triggers.
 * @property {number} redisCpuMsPer1000Total Over every master.
 * @property {number | null} workerCpuPercent The worker process (drain only; 100 = one core).
 * @property {number} [redisBytesPerTrigger] Memory per trigger over every master (`used_memory`
 *   delta from before the write, per trigger): after the write, what a waiting trigger takes;
 *   after the drain, what its outcome record keeps taking for RESULT_TTL_MS.
 * @property {number} [calls] Salesforce calls made (drain only).
 */

/**
 * Runs the benchmark and returns its figures.
 * @param {ClusterBenchOptions} [options]
 */
export async function runClusterBench(options = {}) {
  const quick = options.quick ?? false;
  const settings = {
    triggers: options.triggers ?? (quick ? 20_000 : 100_000),
    chunkSize: options.chunkSize ?? 1_000,
    partitions: options.partitions?.length ? options.partitions : [1, 3],
    latencyMs: options.latencyMs ?? 20,
  };
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const own = options.clusterUrl ? undefined : await startRedisCluster({ masters: 3 });
  const clusterUrl = options.clusterUrl ?? /** @type {NonNullable<typeof own>} */ (own).url;
  const seeds = clusterUrl
    .replace(/^rediss?:\/\/([^@]*@)?/, '')
    .split(',')
    .map((hostPort) => {
      const colon = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, colon), port: Number(hostPort.slice(colon + 1)) };
    });
  const admin = new Cluster(seeds);
  const sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: settings.latencyMs } });
  /** @type {Record<string, { write: PhaseFigures; drain: PhaseFigures; partitionMasters: string[] }>} */
  const runs = {};
  /** @type {string[]} */
  const prefixes = [];
  try {
    await admin.ping();
    for (const partitions of settings.partitions) {
      const name = `${partitions} partition${partitions === 1 ? '' : 's'}`;
      const prefix = `bench-cl${partitions}-${Date.now().toString(36)}`;
      prefixes.push(prefix);
      sim.reset();
      const producer = new Producer({
        redis: clusterUrl,
        prefix,
        partitions,
        maxChunkSize: settings.chunkSize,
      });
      const control = new FlowControl(producer.redis, producer.keys);
      try {
        const partitionMasters = await mastersOf(
          admin,
          producer.keys.allPartitions.map((k) => k.pending),
        );
        log(`cluster-bench: ${name}: partitions on ${partitionMasters.join(', ')}`);
        const inputs = Array.from({ length: settings.triggers }, (_, i) => ({
          IndividualId: `0PKcl${String(partitions).padStart(3, '0')}${String(i).padStart(10, '0')}`,
          TelephoneNumber: '+15550100',
        }));
        const memoryBefore = await masterMemoryBytes(admin);
        const write = await phase(admin, settings.triggers, async () => {
          await producer.triggerMany(FLOW, inputs, { concurrency: 4 });
        });
        write.redisBytesPerTrigger = Math.round(
          ((await masterMemoryBytes(admin)) - memoryBefore) / settings.triggers,
        );
        log(`cluster-bench: ${name}: write ${describe(write)}`);
        const deliveredBefore = sim.stats().deliveries.unique;
        const callsBefore = sim.stats().invokeCalls.total;
        // The worker starts with the flow paused: its start-up is not part of the drain.
        await control.pause(FLOW);
        const worker = await startWorker(clusterUrl, prefix, partitions, sim.url);
        try {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          const cpuBefore = processCpuMs(worker.pid);
          const drain = await phase(admin, settings.triggers, async () => {
            await control.resume(FLOW);
            let last = -1;
            let lastProgressAt = Date.now();
            for (;;) {
              const delivered = sim.stats().deliveries.unique - deliveredBefore;
              if (delivered >= settings.triggers) break;
              if (delivered !== last) {
                last = delivered;
                lastProgressAt = Date.now();
              } else if (Date.now() - lastProgressAt > 60_000) {
                throw new Error(
                  `the drain made no progress for 60 s (${delivered} of ${settings.triggers} delivered); worker output:\n${worker.output().slice(-3_000)}`,
                );
              }
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          });
          const cpuAfter = processCpuMs(worker.pid);
          drain.workerCpuPercent =
            cpuBefore === null || cpuAfter === null
              ? null
              : Math.round(((cpuAfter - cpuBefore) * 100) / drain.elapsedMs);
          drain.calls = sim.stats().invokeCalls.total - callsBefore;
          // The last answers are recorded just after the simulator counts them.
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          drain.redisBytesPerTrigger = Math.round(
            ((await masterMemoryBytes(admin)) - memoryBefore) / settings.triggers,
          );
          log(`cluster-bench: ${name}: drain ${describe(drain)}`);
          runs[name] = { write, drain, partitionMasters };
        } finally {
          await worker.stop();
        }
      } finally {
        await control.close();
        await producer.close();
      }
    }
  } finally {
    for (const prefix of prefixes) await deletePrefix(admin, prefix).catch(() => {});
    admin.disconnect();
    await sim.close();
    await own?.stop();
  }
  return {
    date: new Date().toISOString(),
    machine: machine(),
    settings,
    runs,
    note: 'The load generator, the worker and every master share this machine: partitions show their overhead here, not the gain of spreading Redis over machines. Size with redisCpuMsPer1000 (per node).',
  };
}

/**
 * Runs a phase and measures it, with every master's CPU.
 * @param {Cluster} admin
 * @param {number} triggers
 * @param {() => Promise<void>} body
 * @returns {Promise<PhaseFigures>}
 */
async function phase(admin, triggers, body) {
  const before = await masterCpuMs(admin);
  const started = performance.now();
  await body();
  const elapsedMs = performance.now() - started;
  const after = await masterCpuMs(admin);
  /** @type {Record<string, number>} */
  const redisCpuMs = {};
  /** @type {Record<string, number>} */
  const redisCpuMsPer1000 = {};
  let total = 0;
  for (const [node, ms] of Object.entries(after)) {
    const spent = ms - (before[node] ?? 0);
    redisCpuMs[node] = Math.round(spent);
    redisCpuMsPer1000[node] = round((spent * 1_000) / triggers, 2);
    total += spent;
  }
  return {
    triggers,
    elapsedMs: Math.round(elapsedMs),
    perSecond: Math.round((triggers * 1_000) / elapsedMs),
    redisCpuMs,
    redisCpuMsPer1000,
    redisCpuMsPer1000Total: round((total * 1_000) / triggers, 2),
    workerCpuPercent: null,
  };
}

/**
 * CPU (user + system, ms) of every master so far, by `host:port`.
 * @param {Cluster} admin
 */
async function masterCpuMs(admin) {
  /** @type {Record<string, number>} */
  const cpu = {};
  for (const node of admin.nodes('master')) {
    const info = await node.info('cpu');
    const field = (/** @type {string} */ name) =>
      Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    cpu[`${node.options.host}:${node.options.port}`] =
      (field('used_cpu_user') + field('used_cpu_sys')) * 1_000;
  }
  return cpu;
}

/**
 * Memory used by every master together (`used_memory`), in bytes.
 * @param {Cluster} admin
 */
async function masterMemoryBytes(admin) {
  let total = 0;
  for (const node of admin.nodes('master')) {
    total += Number(/^used_memory:(\d+)/m.exec(await node.info('memory'))?.[1] ?? 0);
  }
  return total;
}

/**
 * The master (`host:port`) serving each key.
 * @param {Cluster} admin
 * @param {string[]} keys
 */
async function mastersOf(admin, keys) {
  const slots = /** @type {[number, number, [string, number]][]} */ (
    /** @type {unknown} */ (await admin.cluster('SLOTS'))
  );
  return Promise.all(
    keys.map(async (key) => {
      const slot = Number(await admin.cluster('KEYSLOT', key));
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      return range ? `${range[2][0]}:${range[2][1]}` : '?';
    }),
  );
}

/**
 * Removes what a setting wrote (every key starts with `{prefix`), on every master.
 * @param {Cluster} admin
 * @param {string} prefix
 */
async function deletePrefix(admin, prefix) {
  for (const node of admin.nodes('master')) {
    const stream = node.scanStream({ match: `{${prefix}*`, count: 1_000 });
    for await (const keys of stream) {
      // One UNLINK per key: keys of different slots cannot share a command on a cluster node.
      for (const key of keys) await node.unlink(key);
    }
  }
}

/**
 * `flow-dispatcher worker` as a child process, once it says it is ready.
 * @param {string} clusterUrl
 * @param {string} prefix
 * @param {number} partitions
 * @param {string} simulatorUrl
 */
async function startWorker(clusterUrl, prefix, partitions, simulatorUrl) {
  const child = spawn(process.execPath, [CLI_BIN, 'worker'], {
    env: {
      PATH: process.env.PATH,
      REDIS_URL: clusterUrl,
      QUEUE_PREFIX: prefix,
      QUEUE_PARTITIONS: String(partitions),
      SF_LOGIN_URL: simulatorUrl,
      SF_CLIENT_ID: 'sim-client-id',
      SF_CLIENT_SECRET: 'sim-client-secret',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      WORKER_MAX_BUFFERED_TRIGGERS: '20000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 30_000);
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      if (output.length < 100_000) output += chunk.toString('utf8');
      if (output.includes('"msg":"worker ready"')) {
        clearTimeout(timer);
        resolve(undefined);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(() => reject(new Error(`worker exited:\n${output}`)));
  });
  return {
    pid: /** @type {number} */ (child.pid),
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * CPU time (user + system) of a process so far, in ms, from /proc (Linux); null elsewhere.
 * @param {number} pid
 */
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / 100; // USER_HZ is 100
  } catch {
    return null;
  }
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
  const worker = f.workerCpuPercent === null ? '' : `, worker CPU ${f.workerCpuPercent}%`;
  const calls = f.calls === undefined ? '' : `, ${f.calls} calls`;
  const memory =
    f.redisBytesPerTrigger === undefined
      ? ''
      : `, ${f.redisBytesPerTrigger} bytes of Redis memory per trigger`;
  const nodes = Object.entries(f.redisCpuMsPer1000)
    .map(([node, ms]) => `${node} ${ms}`)
    .join(', ');
  return `${f.perSecond} triggers/s (${f.triggers} in ${f.elapsedMs} ms)${calls}${worker}${memory}; Redis CPU ms per 1,000 triggers: ${nodes} (total ${f.redisCpuMsPer1000Total})`;
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

/** @param {Awaited<ReturnType<typeof runClusterBench>>} report */
function printTable(report) {
  const rows = [];
  for (const [name, r] of Object.entries(report.runs)) {
    for (const [phaseName, f] of /** @type {const} */ ([
      ['write', r.write],
      ['drain', r.drain],
    ])) {
      const nodes = Object.values(f.redisCpuMsPer1000).join(' / ');
      rows.push(
        `| ${name} | ${phaseName} | ${f.perSecond} | ${nodes} | ${f.redisCpuMsPer1000Total} | ${f.workerCpuPercent ?? '-'} | ${f.calls ?? '-'} | ${f.redisBytesPerTrigger ?? '-'} |`,
      );
    }
  }
  return [
    `${report.settings.triggers} triggers per setting in chunks of ${report.settings.chunkSize}, ${report.settings.latencyMs} ms per simulated call, ${report.machine.cpus} CPUs (${report.machine.cpuModel})`,
    '',
    '| setting | phase | triggers/s | Redis CPU ms per 1,000 triggers, per master | all masters | worker CPU % | calls | Redis bytes per trigger (write: waiting; drain: outcome kept) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    report.note,
  ].join('\n');
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      triggers: { type: 'string' },
      'chunk-size': { type: 'string' },
      partitions: { type: 'string', multiple: true },
      'latency-ms': { type: 'string' },
      'cluster-url': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: node bench/cluster/index.js [--quick] [--triggers N] [--chunk-size N] [--partitions N]...\n' +
        '       [--latency-ms N]\n' +
        '       [--cluster-url redis://host:port,host:port,...] [--json]\n',
    );
  } else {
    /** @param {string | undefined} value */
    const num = (value) => (value === undefined ? undefined : Number(value));
    const report = await runClusterBench({
      quick: values.quick,
      triggers: num(values.triggers),
      chunkSize: num(values['chunk-size']),
      partitions: values.partitions?.map(Number),
      latencyMs: num(values['latency-ms']),
      clusterUrl: values['cluster-url'],
    });
    process.stdout.write(
      values.json ? `${JSON.stringify(report, null, 2)}\n` : `${printTable(report)}\n`,
    );
  }
}
