import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowControl, Producer } from '@flow-dispatcher/producer';
import { type Simulator, simulatorDefaults, startSimulator } from '@flow-dispatcher/simulator';
import { freePort } from '@flow-dispatcher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  DEFAULT_VARIABLES,
  dashboardPanels,
  dashboardQueries,
  exposedMetricNames,
  metricNames,
  type NamedQuery,
  RULES_FILE,
  readDashboard,
  ruleQueries,
  run,
  substituteGrafanaVariables,
  withBoolComparisons,
} from './observability-support.js';
import { CliProcess } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { requireTool } from './support/tools.js';
import { waitFor } from './support/wait.js';

/**
 * A real Prometheus (Debian's `prometheus`) scrapes a real worker process and a real ingest
 * process during a short run on the simulator, with the repository's recording and alert rules
 * loaded. Then every expression of the Grafana dashboard and of the rules is evaluated through
 * Prometheus's HTTP API: each must parse and return data. Alert expressions are evaluated twice:
 * as written (it must parse) and with their comparisons turned into `bool` comparisons, which
 * return 0 or 1 instead of filtering (an alert is quiet in a healthy run, but its measures must
 * have data). The run carries e-mail addresses, phone numbers and a configured sensitive input:
 * none of them, nor a token, may appear in the processes' logs or in /metrics.
 */

const TOKENS = ['obs-test-token-one-0123456789', 'obs-test-token-two-0123456789'];
const CLIENT_SECRET = 'obs-test-client-secret-3b9f';
const flow = 'Welcome_SMS';
const id = (tag: string, i: number) => `0PK${tag}${String(i).padStart(15 - tag.length, '0')}`;
const email = (i: number) => `person.${i}@customer-mail.example`;
const phone = (i: number) => `+4479460${String(i).padStart(5, '0')}`;
const coupon = (i: number) => `CPN-SECRET-${i}`;
/** Outcome events a consumer group reads (the last one unacknowledged) before the checks. */
const OUTCOMES_TAKEN = 5;

/** What must never be written to a log line or to /metrics. */
const SECRETS = [
  'customer-mail.example',
  '+4479460',
  'CPN-SECRET',
  'dead.letter@customer-mail.example',
  CLIENT_SECRET,
  ...TOKENS,
];

// Debian's package `prometheus` carries both. Without them the tests below are skipped (and the
// output says why); under CI=true their absence fails the file.
const PROMETHEUS = { install: 'apt-get install prometheus' };
const prometheusBin = requireTool('prometheus', PROMETHEUS);
const promtoolBin = requireTool('promtool', PROMETHEUS);
const promtool = promtoolBin.path ?? 'promtool';

describe.skipIf(!prometheusBin.path || !promtoolBin.path)(
  'dashboard and rules on a real Prometheus',
  () => {
    let sim: Simulator;
    let prefix: string;
    let producer: Producer;
    let worker: CliProcess;
    let ingest: CliProcess;
    let prometheus: ChildProcess | undefined;
    let prometheusLog = '';
    let dir: string;
    let promUrl: string;
    let metricsPort: number;
    let ingestPort: number;
    const expected = { delivered: 0, dead: 0 };

    async function query(
      expr: string,
    ): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
      const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: unknown[] };
      };
    }

    async function scalar(expr: string): Promise<number | undefined> {
      const result = (await query(expr)).data?.result[0] as { value: [number, string] } | undefined;
      return result ? Number(result.value[1]) : undefined;
    }

    async function startPrometheus(): Promise<void> {
      const port = await freePort();
      promUrl = `http://127.0.0.1:${port}`;
      // The repository's rules, evaluated every second instead of every 15 s.
      const rules = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { interval?: string }[] };
      for (const group of rules.groups) group.interval = '1s';
      writeFileSync(join(dir, 'rules.yml'), stringify(rules));
      // Two fleets: fleet-a has two workers (the one worker scraped twice: the fleet-wide gauges
      // then come twice, as from two real workers) and ingest; fleet-b is the same processes again.
      // A query that sums fleet-wide gauges across workers, or reads both namespaces, is off by 2x.
      const worker = `127.0.0.1:${metricsPort}`;
      const scrape = [
        {
          job_name: 'flow-dispatcher-worker',
          static_configs: [
            { targets: [worker], labels: { namespace: 'fleet-a', instance: 'worker-1' } },
            { targets: [worker], labels: { namespace: 'fleet-a', instance: 'worker-2' } },
            { targets: [worker], labels: { namespace: 'fleet-b', instance: 'worker-1' } },
          ],
        },
        {
          job_name: 'flow-dispatcher-ingest',
          static_configs: [
            { targets: [`127.0.0.1:${ingestPort}`], labels: { namespace: 'fleet-a' } },
            { targets: [`127.0.0.1:${ingestPort}`], labels: { namespace: 'fleet-b' } },
          ],
        },
      ];
      writeFileSync(
        join(dir, 'prometheus.yml'),
        stringify({
          global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
          rule_files: [join(dir, 'rules.yml')],
          scrape_configs: scrape,
        }),
      );
      const check = await run(promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      prometheus = spawn(
        prometheusBin.path ?? 'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=1h',
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      for (const stream of [prometheus.stdout, prometheus.stderr]) {
        stream?.setEncoding('utf8').on('data', (d: string) => {
          prometheusLog += d;
        });
      }
      await waitFor(async () => (await fetch(`${promUrl}/-/ready`)).ok, {
        message: `Prometheus ready (log: ${prometheusLog.slice(-2000)})`,
        timeoutMs: 60_000,
        intervalMs: 200,
      });
    }

    /** Fails with the process's last output when the worker or ingest has exited. */
    function expectRunning(): void {
      for (const [name, proc] of [
        ['worker', worker],
        ['ingest', ingest],
      ] as const) {
        if (!proc) continue;
        const { exitCode, signalCode } = proc.child;
        expect(
          exitCode === null && signalCode === null,
          `${name} exited (${exitCode ?? signalCode}):\n${proc.output.slice(-3000)}`,
        ).toBe(true);
      }
    }

    async function ingestPost(path: string, body: unknown, token = TOKENS[0]): Promise<Response> {
      return fetch(`http://127.0.0.1:${ingestPort}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'fd-observability-'));
      prefix = uniquePrefix('obs');
      sim = await startSimulator({
        port: 0,
        latency: { kind: 'fixed', ms: 30 },
        // Salesforce's message for these inputs echoes personal data, as real flow errors can.
        inputFaults: [
          {
            match: { field: 'IndividualId', prefix: '0PKdead' },
            error: {
              statusCode: 'UNKNOWN_EXCEPTION',
              message: 'Invalid contact dead.letter@customer-mail.example (+447946099999)',
            },
          },
        ],
        // A few whole-call failures: retried triggers, and a fleet-wide pause on the 429.
        failNext: { http503: 2, http429: 1 },
        // A flow the integration user may not run (403 INSUFFICIENT_ACCESS: the flow is held), and
        // one whose sender adds an input it does not declare (its breaker holds it).
        flows: {
          ...simulatorDefaults.flows,
          Locked_Flow: { inputs: [...(simulatorDefaults.flows.Welcome_SMS?.inputs ?? [])] },
          Typo_Flow: { inputs: [...(simulatorDefaults.flows.Welcome_SMS?.inputs ?? [])] },
        },
        refuse: { kind: 'insufficient-access', flows: ['Locked_Flow'] },
      });
      producer = new Producer({ redis: TEST_REDIS_URL, prefix });
      // A pace the flow never reaches (100,000/s), so the pace line of its row has a value.
      const control = new FlowControl(producer.redis, producer.keys);
      await control.pace(flow, { perSecond: 100_000 });
      await control.close();
      const env = fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        extra: {
          SF_CLIENT_SECRET: CLIENT_SECRET,
          LOG_LEVEL: 'debug',
          LOG_REDACT_INPUTS: 'Coupon_Code',
          SF_MAX_INPUTS_PER_CALL: '50',
        },
      });
      sim.configure({ auth: { clientSecret: CLIENT_SECRET } });
      // Ports the processes choose themselves (0) and report: none can be taken in between.
      worker = await startWorkerProcess({ ...env, METRICS_PORT: '0' });
      metricsPort = portOf(await worker.waitForLine(/"msg":"worker ready"/), 'metricsPort');
      ingest = new CliProcess(['ingest'], {
        ...env,
        INGEST_PORT: '0',
        // /metrics on the API port, which Prometheus scrapes below (fleetEnv's METRICS_PORT would
        // move it to a port of its own: test/ingest-metrics-port.test.ts).
        METRICS_PORT: '',
        INGEST_TOKENS: TOKENS.join(','),
      });
      ingestPort = portOf(await ingest.waitForLine(/"msg":"ingest ready"/, 30_000), 'port');
      await startPrometheus();

      // Traffic: through ingest (it counts triggers_enqueued_total), its native API and its
      // drop-in; the library; a flow Salesforce does not know (404: it is held); dead letters.
      const good = Array.from({ length: 300 }, (_, i) => ({
        IndividualId: id('obs', i),
        EmailAddress: email(i),
        TelephoneNumber: phone(i),
        Coupon_Code: coupon(i),
      }));
      const dead = Array.from({ length: 5 }, (_, i) => ({
        IndividualId: id('dead', i),
        EmailAddress: email(1000 + i),
        TelephoneNumber: phone(1000 + i),
      }));
      const inputs = [...good, ...dead];
      for (let i = 0; i < inputs.length; i += 100) {
        const response = await ingestPost(
          `/v1/flows/${flow}/triggers`,
          {
            triggers: inputs.slice(i, i + 100).map((input) => ({ input })),
          },
          TOKENS[(i / 100) % 2],
        );
        expect(response.status, await response.clone().text()).toBe(202);
      }
      const dropIn = await ingestPost(`/services/data/v65.0/actions/custom/flow/${flow}`, {
        inputs: [
          { IndividualId: id('drop', 1), EmailAddress: email(2000), Coupon_Code: coupon(2000) },
        ],
      });
      expect(dropIn.status, await dropIn.clone().text()).toBeLessThan(300);
      expected.delivered += 1;
      expected.delivered += good.length;
      expected.dead = dead.length;
      // The library's triggers go in the high lane, ingest's in the normal one: the dispatch wait
      // panel has two priorities.
      await producer.triggerMany(
        'Order_Confirmation_Email',
        Array.from({ length: 120 }, (_, i) => ({
          IndividualId: id('ord', i),
          EmailAddress: email(3000 + i),
        })),
        { priority: 'high' },
      );
      expected.delivered += 120;
      // A trigger scheduled far beyond the test: it stays scheduled (and is never sent).
      await producer.trigger(
        flow,
        { IndividualId: id('sched', 1), EmailAddress: email(7000) },
        { delay: 3_600_000 },
      );
      await producer.triggerMany(
        'Retired_Flow',
        Array.from({ length: 10 }, (_, i) => ({
          IndividualId: id('ret', i),
          TelephoneNumber: phone(4000 + i),
        })),
      );
      await producer.triggerMany(
        'Locked_Flow',
        Array.from({ length: 10 }, (_, i) => ({ IndividualId: id('lock', i) })),
      );
      // Three calls of 50, every input refused alike: the breaker trips.
      await producer.triggerMany(
        'Typo_Flow',
        Array.from({ length: 150 }, (_, i) => ({
          IndividualId: id('typo', i),
          Signup_Id: `s${i}`,
        })),
      );

      await waitFor(() => sim.stats().deliveries.unique >= expected.delivered, {
        message: `${expected.delivered} deliveries (have ${sim.stats().deliveries.unique})`,
        timeoutMs: 90_000,
      });
      await waitFor(async () => (await producer.deadLetters.count()) === expected.dead, {
        message: 'dead letters recorded',
        timeoutMs: 60_000,
      });
      // A backend's consumer group reads the outcome events from the start, takes a few and stops
      // with the last one in hand: the group has a lag (the rest) and one pending event.
      let taken = 0;
      for await (const _event of producer.outcomes({
        group: 'obs',
        consumer: 'c1',
        from: 'start',
        count: OUTCOMES_TAKEN,
      })) {
        taken += 1;
        if (taken === OUTCOMES_TAKEN) break;
      }
      // Prometheus has scraped the settled run: sampled gauges included (every 5 s).
      await waitFor(
        async () =>
          (await scalar(
            'max(flow_dispatcher_outcome_events_pending{namespace="fleet-a",group="obs"})',
          )) === 1 &&
          (await scalar(
            `max(flow_dispatcher_scheduled_triggers{namespace="fleet-a",flow="${flow}"})`,
          )) === 1 &&
          (await scalar('flow_dispatcher:dead_letters:max{namespace="fleet-a"}')) ===
            expected.dead &&
          (await scalar(
            'sum(flow_dispatcher_triggers_total{namespace="fleet-b",outcome="succeeded"})',
          )) === expected.delivered,
        { message: 'Prometheus to see the settled run', timeoutMs: 60_000, intervalMs: 500 },
      );
    }, 240_000);

    afterAll(async () => {
      prometheus?.kill('SIGTERM');
      await Promise.all([worker?.kill('SIGTERM'), ingest?.kill('SIGTERM')]);
      await producer?.close();
      await sim?.close();
      await deletePrefix(TEST_REDIS_URL, prefix);
      if (prometheus && prometheus.exitCode === null) {
        await new Promise((resolve) => prometheus?.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    it('turns comparisons into bool comparisons, leaving matchers and strings alone', () => {
      expect(withBoolComparisons('x > 1000\n  and\nderiv(x[15m]) > 0')).toBe(
        'x > bool 1000\n  and\nderiv(x[15m]) > bool 0',
      );
      expect(withBoolComparisons('(sum(up{job="a"}) or vector(0)) < 1')).toBe(
        '(sum(up{job="a"}) or vector(0)) < bool 1',
      );
      expect(withBoolComparisons('rate(x{outcome!="ok",a=~"b>c"}[5m]) >= bool 0.5 != 2')).toBe(
        'rate(x{outcome!="ok",a=~"b>c"}[5m]) >= bool 0.5 != bool 2',
      );
    });

    it('every metric the dashboard and the rules read is exported by a worker or ingest', async () => {
      expectRunning();
      const exposed = new Set<string>();
      for (const port of [metricsPort, ingestPort]) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        for (const name of exposedMetricNames(text)) exposed.add(name);
      }
      const queries = [...dashboardQueries(), ...ruleQueries()];
      const missing = queries.flatMap((q) =>
        metricNames(q.expr)
          .filter((name) => !exposed.has(name))
          .map((name) => `${q.source}: ${name}`),
      );
      expect(missing).toEqual([]);
    });

    it('every expression of the dashboard and the rules parses and returns data', async () => {
      const queries: NamedQuery[] = [...dashboardQueries(), ...ruleQueries()];
      expect(queries.length).toBeGreaterThan(40);
      const problems = async () => {
        const found: string[] = [];
        for (const q of queries) {
          const asWritten = await query(q.expr);
          if (asWritten.status !== 'success') {
            found.push(`${q.source}: ${asWritten.error} — ${q.expr}`);
            continue;
          }
          const measured =
            q.kind === 'alert' ? await query(withBoolComparisons(q.expr)) : asWritten;
          if (measured.status !== 'success' || (measured.data?.result.length ?? 0) === 0) {
            found.push(
              `${q.source}: no data — ${q.kind === 'alert' ? withBoolComparisons(q.expr) : q.expr}`,
            );
          }
        }
        return found;
      };
      // Recording rules and rates need a few evaluations after the run; then everything answers.
      let last: string[] = [];
      await waitFor(
        async () => {
          last = await problems();
          return last.length === 0;
        },
        { message: 'every expression to return data', timeoutMs: 60_000, intervalMs: 2_000 },
      ).catch(() => undefined);
      expectRunning();
      expect(last).toEqual([]);
    });

    it('every panel of the dashboard returns the value the fleet has, for the selected namespace only', async () => {
      expectRunning();
      type Sample = { metric: Record<string, string>; value: [number, string] };
      const instant = async (expr: string, time: number) => {
        const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`;
        const body = (await (await fetch(url)).json()) as {
          status: string;
          error?: string;
          data?: { result: Sample[] };
        };
        if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
        return body.data?.result ?? [];
      };
      /** fleet-a's raw series as scraped (each process's own numbers): the truth. */
      const raw = async (time: number) =>
        (await instant('{namespace="fleet-a",__name__=~"flow_dispatcher_.+"}', time)).map(
          (sample) => ({ labels: sample.metric, value: Number(sample.value[1]) }),
        );
      /** fleet-a's raw samples of the W seconds up to `time`, by series. */
      const rawRanges = async (time: number, seconds: number) => {
        const expr = `{namespace="fleet-a",__name__=~"flow_dispatcher_.+"}[${seconds}s]`;
        const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`;
        const body = (await (await fetch(url)).json()) as {
          data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
        };
        return new Map(
          body.data.result.map((series) => [
            seriesId(series.metric),
            series.values.map(([t, v]) => [t, Number(v)] as [number, number]),
          ]),
        );
      };
      const enqueuedSeen = async (source: string) =>
        Number(
          (
            await instant(
              `sum(max by (flow) (flow_dispatcher_triggers_enqueued_total{namespace="fleet-a",source="${source}"}))`,
              Date.now() / 1000,
            )
          )[0]?.value[1] ?? 0,
        );
      /**
       * Now (whole seconds), once the latest scrape of every fleet-a target before it succeeded: a
       * scrape that timed out (a loaded machine) marks all of its target's series stale, and an
       * instant query then misses them, as if they did not exist.
       */
      const scrapedTime = async () => {
        let time = 0;
        await waitFor(
          async () => {
            time = Math.floor(Date.now() / 1000);
            const up = await instant('up{namespace="fleet-a"}', time);
            return up.length === 3 && up.every((sample) => sample.value[1] === '1');
          },
          {
            message: 'a time every fleet-a target was scraped',
            timeoutMs: 30_000,
            intervalMs: 300,
          },
        );
        return time;
      };
      /** Prometheus has scraped what the worker's /metrics says now (and Redis's enqueued count). */
      const scrapedUpToDate = async () => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const own = sumSamples(text, 'flow_dispatcher_triggers_total');
        const seen = await instant(
          'sum(flow_dispatcher_triggers_total{namespace="fleet-a",instance="worker-1"})',
          Date.now() / 1000,
        );
        return Number(seen[0]?.value[1]) === own;
      };

      // Phase 1 (beforeAll) made every series; phase 2 below moves them, inside a window of W
      // seconds that every rate of the dashboard reads ($__rate_interval, and the fixed 10m/30m
      // windows, both set to W): the dashboard's answer must be what the raw series say.
      await waitFor(scrapedUpToDate, { message: 'phase 1 scraped', timeoutMs: 30_000 });
      const before = {
        ingest: await enqueuedSeen('ingest'),
        library: await enqueuedSeen('library'),
      };
      const t0 = await scrapedTime();
      const s0 = await raw(t0);
      // The window's first samples are scraped before phase 2 starts (an increase between the last
      // sample before the window and the first in it would be lost to rate()).
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const phase2 = { ingest: 100, library: 120 };
      const deliveredBefore = sim.stats().deliveries.unique;
      const response = await ingestPost(`/v1/flows/${flow}/triggers`, {
        triggers: Array.from({ length: phase2.ingest }, (_, i) => ({
          input: { IndividualId: id('two', i), EmailAddress: email(5000 + i) },
        })),
      });
      expect(response.status, await response.clone().text()).toBe(202);
      await producer.triggerMany(
        'Order_Confirmation_Email',
        Array.from({ length: phase2.library }, (_, i) => ({
          IndividualId: id('tword', i),
          EmailAddress: email(6000 + i),
        })),
        { priority: 'high' },
      );
      await waitFor(
        () => sim.stats().deliveries.unique >= deliveredBefore + phase2.ingest + phase2.library,
        { message: 'phase 2 delivered', timeoutMs: 90_000 },
      );
      // The enqueued counts (sampled from Redis every 5 s) and the settled gauges are scraped.
      await waitFor(
        async () =>
          (await enqueuedSeen('ingest')) === before.ingest + phase2.ingest &&
          (await enqueuedSeen('library')) === before.library + phase2.library &&
          (await scrapedUpToDate()),
        { message: 'phase 2 scraped', timeoutMs: 60_000, intervalMs: 500 },
      );
      // One more queue-depth sample (5 s), and a window of at least 45 s: rate() extrapolates to
      // the window's edges, an error of about one scrape interval (1 s) over the window.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const wait = t0 + 45 - Date.now() / 1000;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      const t1 = await scrapedTime();
      const W = t1 - t0;
      const s1 = await raw(t1);
      const ranges = await rawRanges(t1, W);
      extrapolatedIncrease.end = t1;
      const truth = new Truth(s0, s1, W, ranges);

      // What each panel must show, from the raw series with each metric's documented aggregation
      // (docs/metrics.md): per-process counters and gauges are summed over processes, fleet-wide
      // gauges (read from Redis by every worker) are read once (max), ingest's are ingest's.
      const ratio = (a: Expected, b: Expected): Expected =>
        new Map([...a].map(([k, v]) => [k, v / (b.get(k) ?? Number.NaN)]));
      const expected: Record<string, Expected> = {
        'Workers up A': truth.gauge('flow_dispatcher_ready', { role: 'worker' }, [], 'sum'),
        'Workers up B': truth.gauge('flow_dispatcher_ready', { role: 'worker' }, [], 'count'),
        'Ingest up A': truth.gauge('flow_dispatcher_ready', { role: 'ingest' }, [], 'sum'),
        'Ingest up B': truth.gauge('flow_dispatcher_ready', { role: 'ingest' }, [], 'count'),
        'Backlog (triggers) A': truth.fleetGauge('flow_dispatcher_backlog_triggers', ['flow'], []),
        'Dead letters A': truth.fleetGauge('flow_dispatcher_dead_letters', [], []),
        'API budget used A': ratio(
          truth.fleetGauge('flow_dispatcher_api_usage_ratio', [], []),
          truth.fleetGauge('flow_dispatcher_api_budget_share', [], []),
        ),
        'Latency objective (30 m) A': ratio(
          truth.rate('flow_dispatcher_trigger_latency_seconds_bucket', { le: '60' }, []),
          truth.rate('flow_dispatcher_trigger_latency_seconds_count', {}, []),
        ),
        'Triggers/s by outcome A': truth.rate('flow_dispatcher_triggers_total', {}, ['outcome']),
        'Triggers/s by outcome B': truth.fleetRate(
          'flow_dispatcher_triggers_enqueued_total',
          ['flow', 'source'],
          ['source'],
        ),
        'Enqueue → answer latency A': truth.quantile(
          0.5,
          'flow_dispatcher_trigger_latency_seconds',
          [],
        ),
        'Enqueue → answer latency B': truth.quantile(
          0.99,
          'flow_dispatcher_trigger_latency_seconds',
          [],
        ),
        'Inputs per call A': ratio(
          truth.rate('flow_dispatcher_batch_inputs_sum', {}, []),
          truth.rate('flow_dispatcher_batch_inputs_count', {}, []),
        ),
        'Inputs per call B': truth.quantile(0.5, 'flow_dispatcher_batch_inputs', []),
        'Salesforce calls/s by status and error code A': truth.rate(
          'flow_dispatcher_salesforce_requests_total',
          {},
          ['status', 'error_code'],
        ),
        'Salesforce call duration A': truth.quantile(
          0.5,
          'flow_dispatcher_salesforce_request_duration_seconds',
          [],
        ),
        'Salesforce call duration B': truth.quantile(
          0.99,
          'flow_dispatcher_salesforce_request_duration_seconds',
          [],
        ),
        'Trigger error ratio (10 m) A': ratio(
          truth.rate('flow_dispatcher_triggers_total', { outcome: '!succeeded' }, ['flow']),
          truth.rate('flow_dispatcher_triggers_total', {}, ['flow']),
        ),
        'API usage against the budget A': truth.fleetGauge(
          'flow_dispatcher_api_usage_ratio',
          [],
          [],
        ),
        'API usage against the budget B': truth.fleetGauge(
          'flow_dispatcher_api_budget_share',
          [],
          [],
        ),
        'API calls left in the budget A': truth.fleetGauge(
          'flow_dispatcher_api_budget_remaining',
          [],
          [],
          'min',
        ),
        'Concurrency: limit vs calls in flight A': truth.fleetGauge(
          'flow_dispatcher_concurrency_limit',
          [],
          [],
        ),
        'Concurrency: limit vs calls in flight B': truth.gauge(
          'flow_dispatcher_inflight_calls',
          {},
          [],
          'sum',
        ),
        'Pauses by cause A': truth.increase('flow_dispatcher_pauses_total', ['cause']),
        'Circuit open, by flow A': truth.fleetGauge(
          'flow_dispatcher_circuit_open',
          ['flow'],
          ['flow'],
        ),
        'Backlog by state (chunk jobs) A': truth.fleetGauge(
          'flow_dispatcher_queue_jobs',
          ['flow', 'state'],
          ['state'],
        ),
        'Outcome events kept A': truth.fleetGauge('flow_dispatcher_outcome_events', [], []),
        'Outcome consumer groups: lag and pending A': truth.fleetGauge(
          'flow_dispatcher_outcome_events_lag',
          ['group'],
          ['group'],
        ),
        'Outcome consumer groups: lag and pending B': truth.fleetGauge(
          'flow_dispatcher_outcome_events_pending',
          ['group'],
          ['group'],
        ),
        'Scheduled triggers by flow A': truth.fleetGauge(
          'flow_dispatcher_scheduled_triggers',
          ['flow'],
          ['flow'],
        ),
        'Dispatch wait p99 by priority A': truth.quantile(
          0.99,
          'flow_dispatcher_dispatch_wait_seconds',
          ['priority'],
        ),
        'Backlog (triggers) by flow A': truth.fleetGauge(
          'flow_dispatcher_backlog_triggers',
          ['flow'],
          ['flow'],
        ),
        'Dead letters B': truth.rate('flow_dispatcher_triggers_total', { outcome: 'dead' }, [
          'flow',
        ]),
        'Ingest requests/s by route and status A': truth.rate(
          'flow_dispatcher_ingest_requests_total',
          {},
          ['route', 'status'],
        ),
        'Ingest latency p99 by route A': truth.quantile(
          0.99,
          'flow_dispatcher_ingest_request_duration_seconds',
          ['route'],
        ),
        'Triggers per chunk written by ingest A': ratio(
          truth.rate('flow_dispatcher_ingest_chunk_triggers_sum', {}, []),
          truth.rate('flow_dispatcher_ingest_chunk_triggers_count', {}, []),
        ),
        'Triggers/s: $flow A': truth.rate('flow_dispatcher_triggers_total', {}, ['outcome']),
        'Triggers/s: $flow B': truth.fleetGauge(
          'flow_dispatcher_flow_pace_per_second',
          ['flow'],
          [],
        ),
        'Latency p50/p99: $flow A': truth.quantile(
          0.5,
          'flow_dispatcher_trigger_latency_seconds',
          [],
        ),
        'Latency p50/p99: $flow B': truth.quantile(
          0.99,
          'flow_dispatcher_trigger_latency_seconds',
          [],
        ),
        // A row per flow: with every flow selected at once, its max is the largest flow's.
        'Backlog and calls/s: $flow A': new Map([
          [
            '{}',
            Math.max(
              ...truth.fleetGauge('flow_dispatcher_backlog_triggers', ['flow'], ['flow']).values(),
            ),
          ],
        ]),
        'Backlog and calls/s: $flow B': truth.rate(
          'flow_dispatcher_salesforce_requests_total',
          {},
          [],
        ),
      };
      // The enqueued panel is anchored on what this test enqueued, not only on the raw series
      // (rate() extrapolates to the window's edges: within a scrape's worth, 5 % of 45 s).
      for (const source of ['ingest', 'library'] as const) {
        const perSecond = expected['Triggers/s by outcome B']?.get(JSON.stringify({ source })) ?? 0;
        expect(Math.abs(perSecond * W - phase2[source]), source).toBeLessThan(
          phase2[source] * 0.05,
        );
      }

      // The outcome panels are anchored on what Redis holds: every settled trigger's event is kept
      // (far below the stream's bounds), the group was delivered OUTCOMES_TAKEN of them and
      // acknowledged all but the one in hand when its loop stopped.
      const kept = await producer.redis.xlen(producer.keys.forPartition(0).outcomeEvents);
      expect(expected['Outcome events kept A']?.get('{}')).toBe(kept);
      expect(kept).toBeGreaterThanOrEqual(
        sim.stats().deliveries.unique + (await producer.deadLetters.count()),
      );
      const obs = JSON.stringify({ group: 'obs' });
      expect(expected['Outcome consumer groups: lag and pending A']?.get(obs)).toBe(
        kept - OUTCOMES_TAKEN,
      );
      expect(expected['Outcome consumer groups: lag and pending B']?.get(obs)).toBe(1);

      // The one scheduled trigger is the flow's scheduled count; both lanes that had traffic in the
      // window have a dispatch wait (a few seconds at most on this small run).
      expect(expected['Scheduled triggers by flow A']?.get(JSON.stringify({ flow }))).toBe(1);
      for (const priority of ['high', 'normal']) {
        const wait = expected['Dispatch wait p99 by priority A']?.get(JSON.stringify({ priority }));
        expect(wait, priority).toBeGreaterThan(0);
        expect(wait, priority).toBeLessThan(30);
      }

      const problems: string[] = [];
      const checked = new Set<string>();
      for (const panel of dashboardPanels(readDashboard())) {
        for (const target of panel.targets ?? []) {
          const name = `${panel.title} ${target.refId}`;
          const want = expected[name];
          if (!want) {
            problems.push(`${name}: no expected value in this test`);
            continue;
          }
          checked.add(name);
          const expr = substituteGrafanaVariables(target.expr, {
            ...DEFAULT_VARIABLES,
            rateInterval: `${W}s`,
          }).replace(/\[(10|30)m\]/g, `[${W}s]`);
          const got = new Map(
            (await instant(expr, t1)).map((sample) => [
              groupKey(sample.metric, Object.keys(JSON.parse([...want.keys()][0] ?? '{}'))),
              Number(sample.value[1]),
            ]),
          );
          const diff = compareValues(want, got, 1e-9);
          if (diff) problems.push(`${name}: ${diff} — ${expr}`);
        }
      }
      expect(problems).toEqual([]);
      // Every panel of the dashboard was checked (a panel added without a value check fails).
      expect(checked.size).toBe(Object.keys(expected).length);
    });

    it('Prometheus evaluates every alert rule without error', async () => {
      const response = await fetch(`${promUrl}/api/v1/rules?type=alert`);
      const body = (await response.json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      const rules = body.data.groups.flatMap((g) => g.rules);
      expect(rules.length).toBeGreaterThanOrEqual(7);
      for (const rule of rules) expect(rule, rule.name).toMatchObject({ health: 'ok' });
    });

    it('`promtool check metrics` accepts the /metrics of the worker and of ingest', async () => {
      expectRunning();
      for (const [name, port] of [
        ['worker', metricsPort],
        ['ingest', ingestPort],
      ]) {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const check = await run(promtool, ['check', 'metrics'], { input: text });
        expect(check.stdout + check.stderr, `${name} /metrics`).toBe('');
        expect(check.code).toBe(0);
      }
    });

    it('no e-mail address, phone number, sensitive input or token reaches the logs or /metrics', async () => {
      expectRunning();
      const texts: [string, string][] = [['worker log', worker.output]];
      texts.push(['ingest log', ingest.output]);
      for (const port of [metricsPort, ingestPort]) {
        texts.push([
          `:${port}/metrics`,
          await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
        ]);
      }
      // The logs are not empty: the run was logged, one line per call at debug level.
      expect(worker.lines.length).toBeGreaterThan(5);
      for (const [name, text] of texts) {
        for (const secret of SECRETS)
          expect(text.includes(secret), `${name} contains ${secret}`).toBe(false);
        expect(text, name).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}/);
        expect(text, name).not.toMatch(/Bearer (?!\[redacted\])/);
      }
    });
  },
);

/** The port a process reported in its ready line. */
function portOf(line: string, field: 'metricsPort' | 'port'): number {
  const port = (JSON.parse(line) as Record<string, unknown>)[field];
  if (typeof port !== 'number') throw new Error(`no ${field} in ${line}`);
  return port;
}

type Expected = Map<string, number>;
interface RawSample {
  labels: Record<string, string>;
  value: number;
}

/** The key of a series by some of its labels (an empty label when it has none). */
function groupKey(labels: Record<string, string>, by: readonly string[]): string {
  return JSON.stringify(Object.fromEntries(by.map((label) => [label, labels[label] ?? ''])));
}

/** `{outcome: '!succeeded'}` means outcome != succeeded. */
function matches(labels: Record<string, string>, match: Record<string, string>): boolean {
  return Object.entries(match).every(([key, want]) =>
    want.startsWith('!') ? labels[key] !== want.slice(1) : labels[key] === want,
  );
}

/**
 * The fleet's numbers from its raw series at the start (s0) and end (s1) of a window of W
 * seconds, aggregated as docs/metrics.md says each metric is: per-process (sum over processes)
 * or fleet-wide (the same number from every worker: read once).
 */
class Truth {
  constructor(
    private readonly s0: RawSample[],
    private readonly s1: RawSample[],
    private readonly W: number,
    /** Each series' samples in the window, for counters: what rate() sees of them. */
    private readonly ranges: Map<string, [number, number][]>,
  ) {}

  #series(samples: RawSample[], name: string, match: Record<string, string>) {
    return samples.filter((s) => s.labels.__name__ === name && matches(s.labels, match));
  }

  /**
   * Each counter's increase in the window: what it went up by from s0 to s1, as rate() estimates
   * it from the window's samples (extrapolated to the window's edges: Prometheus 2's
   * extrapolatedRate). The two must agree within a scrape's worth; the estimate is compared.
   */
  #delta(name: string, match: Record<string, string>) {
    const start = new Map(
      this.#series(this.s0, name, match).map((s) => [seriesId(s.labels), s.value]),
    );
    return this.#series(this.s1, name, match).map((s) => {
      const exact = s.value - (start.get(seriesId(s.labels)) ?? 0);
      const estimate = extrapolatedIncrease(this.ranges.get(seriesId(s.labels)) ?? [], this.W);
      if (Math.abs(estimate - exact) > Math.max(1.5, exact * 0.1)) {
        throw new Error(`${seriesId(s.labels)}: rose by ${exact}, rate() sees ${estimate}`);
      }
      return { labels: s.labels, value: estimate };
    });
  }

  /** sum by (by) of each process's increase ÷ W. */
  rate(name: string, match: Record<string, string>, by: string[]): Expected {
    const out: Expected = new Map();
    for (const s of this.#delta(name, match)) {
      const key = groupKey(s.labels, by);
      out.set(key, (out.get(key) ?? 0) + s.value / this.W);
    }
    return out;
  }

  increase(name: string, by: string[]): Expected {
    return new Map([...this.rate(name, {}, by)].map(([k, v]) => [k, v * this.W]));
  }

  /** A fleet-wide counter: one worker's increase per `per` group ÷ W, summed by `by`. */
  fleetRate(name: string, per: string[], by: string[]): Expected {
    const once = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const s of this.#delta(name, {})) {
      const key = groupKey(s.labels, per);
      if ((once.get(key)?.value ?? Number.NEGATIVE_INFINITY) < s.value) once.set(key, s);
    }
    const out: Expected = new Map();
    for (const s of once.values()) {
      const key = groupKey(s.labels, by);
      out.set(key, (out.get(key) ?? 0) + s.value / this.W);
    }
    return out;
  }

  /** A per-process gauge: sum or count over processes, by `by`. */
  gauge(name: string, match: Record<string, string>, by: string[], agg: 'sum' | 'count'): Expected {
    const out: Expected = new Map();
    for (const s of this.#series(this.s1, name, match)) {
      const key = groupKey(s.labels, by);
      out.set(key, (out.get(key) ?? 0) + (agg === 'sum' ? s.value : 1));
    }
    return out;
  }

  /** A fleet-wide gauge: one worker's number per `per` group (max, or min), summed by `by`. */
  fleetGauge(name: string, per: string[], by: string[], agg: 'max' | 'min' = 'max'): Expected {
    const once = new Map<string, RawSample>();
    for (const s of this.#series(this.s1, name, {})) {
      const key = groupKey(s.labels, per);
      const seen = once.get(key);
      if (!seen || (agg === 'max' ? s.value > seen.value : s.value < seen.value)) once.set(key, s);
    }
    const out: Expected = new Map();
    for (const s of once.values()) {
      const key = groupKey(s.labels, by);
      out.set(key, (out.get(key) ?? 0) + s.value);
    }
    return out;
  }

  /** Prometheus's histogram_quantile over the window's bucket increases, by `by`. */
  quantile(q: number, name: string, by: string[]): Expected {
    const groups = new Map<string, Map<number, number>>();
    for (const s of this.#delta(`${name}_bucket`, {})) {
      const key = groupKey(s.labels, by);
      const buckets = groups.get(key) ?? new Map<number, number>();
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
      groups.set(key, buckets);
    }
    return new Map([...groups].map(([key, buckets]) => [key, histogramQuantile(q, buckets)]));
  }
}

/**
 * Prometheus 2's extrapolatedRate (promql/functions.go) for a counter, without the division by
 * the range: the increase rate()/increase() report for these samples in a window of `seconds`
 * ending at the last evaluation (the window's end is the query time: the last sample is at most
 * one scrape before it).
 */
function extrapolatedIncrease(samples: [number, number][], seconds: number): number {
  if (samples.length < 2) return 0;
  const first = samples[0] as [number, number];
  const last = samples.at(-1) as [number, number];
  let result = last[1] - first[1];
  let previous = 0;
  for (const [, v] of samples) {
    if (v < previous) result += previous;
    previous = v;
  }
  const end = extrapolatedIncrease.end;
  let toStart = first[0] - (end - seconds);
  const toEnd = end - last[0];
  const sampled = last[0] - first[0];
  const average = sampled / (samples.length - 1);
  if (result > 0 && first[1] >= 0) toStart = Math.min(toStart, sampled * (first[1] / result));
  const threshold = average * 1.1;
  let interval = sampled;
  interval += toStart < threshold ? toStart : average / 2;
  interval += toEnd < threshold ? toEnd : average / 2;
  return result * (interval / sampled);
}
/** The window's end (the query time), set before the expectations are computed. */
extrapolatedIncrease.end = 0;

function seriesId(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** Prometheus's bucket interpolation (promql/quantile.go), for cumulative buckets. */
function histogramQuantile(q: number, buckets: Map<number, number>): number {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return previousLe;
      if (previousLe === 0 && le <= 0) return le;
      return previousLe + (le - previousLe) * ((rank - previousCount) / (count - previousCount));
    }
    previousLe = le;
    previousCount = count;
  }
  return Number.NaN;
}

/** undefined when `got` has the same groups as `want`, each equal (to rounding, or `absolute`). */
function compareValues(want: Expected, got: Expected, absolute: number): string | undefined {
  const keys = new Set([...want.keys(), ...got.keys()]);
  const wrong: string[] = [];
  for (const key of keys) {
    const a = want.get(key);
    const b = got.get(key);
    if (a === undefined || b === undefined) {
      // Prometheus drops a 0/0 (NaN) group only when both sides are absent.
      if (!(Number.isNaN(a ?? Number.NaN) && b === undefined))
        wrong.push(`${key}: want ${a}, got ${b}`);
      continue;
    }
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (!(Math.abs(a - b) <= Math.max(absolute, Math.abs(a) * 1e-6)))
      wrong.push(`${key}: want ${a}, got ${b}`);
  }
  return wrong.length ? wrong.join('; ') : undefined;
}

/** The sum of every sample of a metric in Prometheus text. */
function sumSamples(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) sum += Number(match[2]);
  }
  return sum;
}
