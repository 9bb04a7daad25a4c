import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { startRedisServer } from '@flow-dispatcher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedMetricNames, REPO } from './observability-support.js';
import { CliProcess, runCli } from './support/cli-process.js';
import { fleetEnv, metricSample, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * What the processes export is true (docs/metrics.md): a real worker and a real ingest, triggers
 * enqueued the four ways (the library, `flow-dispatcher enqueue`, ingest, `dlq replay`), and each
 * process's /metrics read as Prometheus would. The enqueued counter is exported by the worker with
 * each source's exact count; ingest exports none of the gauges only a worker sets; both export
 * `ready` and `build_info`.
 */

const flow = 'Welcome_SMS';
const TOKEN = 'metrics-truth-token-0123456789';
const REVISION = 'test1234abcd';
const id = (tag: string, i: number) => `0PK${tag}${String(i).padStart(15 - tag.length, '0')}`;
const VERSION = (
  JSON.parse(readFileSync(join(REPO, 'packages/cli/package.json'), 'utf8')) as { version: string }
).version;

/** The families a worker sets and ingest never does: ingest must not export them (not even 0). */
const WORKER_OWNED = [
  'flow_dispatcher_triggers_enqueued_total',
  'flow_dispatcher_triggers_total',
  'flow_dispatcher_salesforce_requests_total',
  'flow_dispatcher_salesforce_request_duration_seconds',
  'flow_dispatcher_batch_inputs',
  'flow_dispatcher_trigger_latency_seconds',
  'flow_dispatcher_queue_jobs',
  'flow_dispatcher_backlog_triggers',
  'flow_dispatcher_dead_letters',
  'flow_dispatcher_api_usage_ratio',
  'flow_dispatcher_api_budget_share',
  'flow_dispatcher_api_budget_remaining',
  'flow_dispatcher_concurrency_limit',
  'flow_dispatcher_inflight_calls',
  'flow_dispatcher_pauses_total',
  'flow_dispatcher_circuit_open',
  'flow_dispatcher_flow_held',
];

describe('metrics tell the truth', () => {
  let sim: Simulator;
  let prefix: string;
  let dir: string;
  let producer: Producer;
  let worker: CliProcess;
  let ingest: CliProcess;
  let env: Record<string, string>;
  let metricsPort: number;
  let ingestPort: number;

  const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fd-metrics-truth-'));
    prefix = uniquePrefix('metrics-truth');
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 5 },
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKdead' },
          error: { statusCode: 'UNKNOWN_EXCEPTION', message: 'refused' },
        },
      ],
    });
    env = fleetEnv({
      redisUrl: TEST_REDIS_URL,
      prefix,
      simulatorUrl: sim.url,
      extra: { FLOW_DISPATCHER_REVISION: REVISION },
    });
    sim.configure({ auth: { clientSecret: env.SF_CLIENT_SECRET } });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    worker = await startWorkerProcess(env);
    metricsPort = portOf(await worker.waitForLine(/"msg":"worker ready"/), 'metricsPort');
    ingest = new CliProcess(['ingest'], {
      ...env,
      INGEST_PORT: '0',
      // /metrics on the API port, scraped below (fleetEnv's METRICS_PORT would move it).
      METRICS_PORT: '',
      INGEST_TOKENS: TOKEN,
    });
    ingestPort = portOf(await ingest.waitForLine(/"msg":"ingest ready"/, 30_000), 'port');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([worker?.kill('SIGTERM'), ingest?.kill('SIGTERM')]);
    await producer?.close();
    await sim?.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('counts every enqueue path once, by source, in the worker /metrics', async () => {
    // The library: 7 triggers, 2 of which Salesforce refuses (dead-lettered, replayed below), and
    // a repeated key (a duplicate: not counted).
    await producer.triggerMany(flow, [
      ...Array.from({ length: 5 }, (_, i) => ({ IndividualId: id('lib', i) })),
      ...Array.from({ length: 2 }, (_, i) => ({ IndividualId: id('dead', i) })),
    ]);
    await producer.trigger(flow, { IndividualId: id('key', 0) }, { key: 'k-1' });
    await producer.trigger(flow, { IndividualId: id('key', 0) }, { key: 'k-1' });
    // `flow-dispatcher enqueue`: 4 rows.
    const csv = join(dir, 'rows.csv');
    writeFileSync(
      csv,
      `IndividualId\n${Array.from({ length: 4 }, (_, i) => id('cli', i)).join('\n')}\n`,
    );
    const enqueued = await runCli(['enqueue', flow, csv, '--json'], env);
    expect(enqueued.code, enqueued.stderr).toBe(0);
    expect(JSON.parse(enqueued.stdout)).toMatchObject({ accepted: 4 });
    // Ingest: 3 triggers in one request.
    const response = await fetch(`http://127.0.0.1:${ingestPort}/v1/flows/${flow}/triggers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        triggers: Array.from({ length: 3 }, (_, i) => ({ input: { IndividualId: id('ing', i) } })),
      }),
    });
    expect(response.status, await response.clone().text()).toBe(202);
    // `dlq replay`: the 2 dead letters, once Salesforce takes them.
    await waitFor(async () => (await producer.deadLetters.count()) === 2, {
      message: 'two dead letters',
      timeoutMs: 60_000,
    });
    sim.configure({ inputFaults: [] });
    const replayed = await runCli(['dlq', 'replay', '--flow', flow, '--yes', '--json'], env);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ replayed: 2 });
    await waitFor(() => sim.stats().deliveries.unique === 5 + 1 + 4 + 3 + 2, {
      message: '15 deliveries',
      timeoutMs: 60_000,
    });

    const expected = { library: 8, cli: 4, ingest: 3, replay: 2 };
    const counts = async () => {
      const text = await scrape(metricsPort);
      return Object.fromEntries(
        Object.keys(expected).map((source) => [
          source,
          metricSample(text, 'flow_dispatcher_triggers_enqueued_total', { flow, source }),
        ]),
      );
    };
    // Sampled from Redis every 5 s.
    await waitFor(async () => JSON.stringify(await counts()) === JSON.stringify(expected), {
      message: 'the enqueued counts',
      timeoutMs: 30_000,
    }).catch(() => undefined);
    expect(await counts()).toEqual(expected);
    // Succeeded ≈ enqueued: the 15 succeeded, of 17 enqueued (the 2 replays are a second go).
    const text = await scrape(metricsPort);
    expect(
      metricSample(text, 'flow_dispatcher_triggers_total', { flow, outcome: 'succeeded' }),
    ).toBe(15);
    expect(metricSample(text, 'flow_dispatcher_triggers_total', { flow, outcome: 'dead' })).toBe(2);
  });

  it('ingest exports none of the gauges and counters only a worker sets', async () => {
    const ingestText = await scrape(ingestPort);
    const exported = exposedMetricNames(ingestText);
    expect(WORKER_OWNED.filter((name) => exported.has(name))).toEqual([]);
    // The worker does export them: the list names real families.
    const workerExported = exposedMetricNames(await scrape(metricsPort));
    expect(WORKER_OWNED.filter((name) => !workerExported.has(name))).toEqual([]);
    // What ingest exports of flow_dispatcher_*: its own, and what every process has.
    expect(
      [...exported].filter(
        (name) =>
          name.startsWith('flow_dispatcher_') && !name.startsWith('flow_dispatcher_ingest_'),
      ),
    ).toEqual(
      expect.arrayContaining([
        'flow_dispatcher_build_info',
        'flow_dispatcher_ready',
        'flow_dispatcher_token_requests_total',
      ]),
    );
    expect(
      [...exported].filter(
        (name) =>
          name.startsWith('flow_dispatcher_') && !name.startsWith('flow_dispatcher_ingest_'),
      ),
    ).toHaveLength(3);
  });

  it('every process exports ready (as /readyz answers) and build_info', async () => {
    for (const [role, port] of [
      ['worker', metricsPort],
      ['ingest', ingestPort],
    ] as const) {
      const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(readyz.status, role).toBe(200);
      const text = await scrape(port);
      expect(metricSample(text, 'flow_dispatcher_ready', { role }), role).toBe(1);
      expect(
        metricSample(text, 'flow_dispatcher_build_info', {
          version: VERSION,
          revision: REVISION,
          node: process.versions.node,
        }),
        `${role}: ${text.split('\n').find((l) => l.startsWith('flow_dispatcher_build_info'))}`,
      ).toBe(1);
    }
  });

  it('`flow-dispatcher --version` prints the package version', async () => {
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${VERSION}\n`);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('flow_dispatcher_ready follows /readyz', () => {
  it('turns 0 in a worker and in ingest once their Redis is gone, as /readyz turns 503', async () => {
    const redis = await startRedisServer();
    const sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    const env = fleetEnv({
      redisUrl: redis.url,
      prefix: uniquePrefix('ready'),
      simulatorUrl: sim.url,
    });
    sim.configure({ auth: { clientSecret: env.SF_CLIENT_SECRET } });
    const worker = await startWorkerProcess(env);
    const ingest = new CliProcess(['ingest'], {
      ...env,
      INGEST_PORT: '0',
      // /metrics on the API port, scraped below (fleetEnv's METRICS_PORT would move it).
      METRICS_PORT: '',
      INGEST_TOKENS: TOKEN,
    });
    try {
      const ports = {
        worker: portOf(await worker.waitForLine(/"msg":"worker ready"/), 'metricsPort'),
        ingest: portOf(await ingest.waitForLine(/"msg":"ingest ready"/, 30_000), 'port'),
      };
      const state = async (role: 'worker' | 'ingest') => {
        const base = `http://127.0.0.1:${ports[role]}`;
        const readyz = (await fetch(`${base}/readyz`)).status;
        const text = await (await fetch(`${base}/metrics`)).text();
        return { readyz, metric: metricSample(text, 'flow_dispatcher_ready', { role }) };
      };
      for (const role of ['worker', 'ingest'] as const) {
        await waitFor(async () => (await state(role)).readyz === 200, { message: `${role} ready` });
        expect(await state(role)).toEqual({ readyz: 200, metric: 1 });
      }
      await redis.kill();
      for (const role of ['worker', 'ingest'] as const) {
        await waitFor(async () => (await state(role)).readyz === 503, {
          message: `${role} not ready without Redis`,
          timeoutMs: 30_000,
        });
        // Read at the scrape itself: no sampling delay between the probe and the metric.
        expect(await state(role)).toEqual({ readyz: 503, metric: 0 });
      }
    } finally {
      await Promise.all([worker.kill('SIGKILL'), ingest.kill('SIGKILL')]);
      await sim.close();
      await redis.stop();
    }
  }, 120_000);
});

/** The port a process reported in its ready line. */
function portOf(line: string, field: 'metricsPort' | 'port'): number {
  const port = (JSON.parse(line) as Record<string, unknown>)[field];
  if (typeof port !== 'number') throw new Error(`no ${field} in ${line}`);
  return port;
}
