import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, simulatorDefaults, startSimulator } from '@flow-dispatcher/simulator';
import { freePort } from '@flow-dispatcher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  dashboardQueries,
  exposedMetricNames,
  metricNames,
  type NamedQuery,
  RULES_FILE,
  ruleQueries,
  run,
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
const hasPrometheus = Boolean(prometheusBin.path && promtoolBin.path);

describe.skipIf(!hasPrometheus)('dashboard and rules on a real Prometheus', () => {
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
    const scrape = [
      {
        job_name: 'flow-dispatcher-worker',
        static_configs: [{ targets: [`127.0.0.1:${metricsPort}`] }],
      },
      {
        job_name: 'flow-dispatcher-ingest',
        static_configs: [{ targets: [`127.0.0.1:${ingestPort}`] }],
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
    await producer.triggerMany(
      'Order_Confirmation_Email',
      Array.from({ length: 120 }, (_, i) => ({
        IndividualId: id('ord', i),
        EmailAddress: email(3000 + i),
      })),
    );
    expected.delivered += 120;
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
      Array.from({ length: 150 }, (_, i) => ({ IndividualId: id('typo', i), Signup_Id: `s${i}` })),
    );

    await waitFor(() => sim.stats().deliveries.unique >= expected.delivered, {
      message: `${expected.delivered} deliveries (have ${sim.stats().deliveries.unique})`,
      timeoutMs: 90_000,
    });
    await waitFor(async () => (await producer.deadLetters.count()) === expected.dead, {
      message: 'dead letters recorded',
      timeoutMs: 60_000,
    });
    // Prometheus has scraped the settled run: sampled gauges included (every 5 s).
    await waitFor(
      async () =>
        (await scalar('flow_dispatcher:dead_letters:max')) === expected.dead &&
        (await scalar('sum(flow_dispatcher_triggers_total{outcome="succeeded"})')) ===
          expected.delivered,
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
        const measured = q.kind === 'alert' ? await query(withBoolComparisons(q.expr)) : asWritten;
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
});

/** The port a process reported in its ready line. */
function portOf(line: string, field: 'metricsPort' | 'port'): number {
  const port = (JSON.parse(line) as Record<string, unknown>)[field];
  if (typeof port !== 'number') throw new Error(`no ${field} in ${line}`);
  return port;
}
