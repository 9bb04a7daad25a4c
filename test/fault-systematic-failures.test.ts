import { Producer } from '@flow-dispatcher/producer';
import {
  type Simulator,
  type SimulatorConfigPatch,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { peopleIds, recordFigures, WorkerFleet } from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { sleep, waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';

/** Sample values of `name` in a worker's /metrics, as `{labels} value` lines. */
async function metricLines(port: number, name: string): Promise<string[]> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

/**
 * README, Guarantees: a refusal that concerns no trigger never dead-letters one, the work waits
 * and goes on by itself; a sender's systematic mistake holds the flow instead of burning its
 * backlog; a call rolled back as a whole is split before anyone is blamed. Real worker processes,
 * the simulator answering as a real org does (packages/simulator/README.md, "What a real org
 * does").
 */
describe('fault: systematic failures never burn a backlog', () => {
  let sim: Simulator | undefined;
  let fleet: WorkerFleet | undefined;
  let producer: Producer | undefined;
  let prefix = '';
  let redisUrl = TEST_REDIS_URL;
  let ownRedis: RedisServerProcess | undefined;

  afterEach(async () => {
    await fleet?.killAll();
    await producer?.close();
    await sim?.close();
    if (ownRedis) await ownRedis.stop();
    else if (prefix) await deletePrefix(TEST_REDIS_URL, prefix);
    fleet = undefined;
    producer = undefined;
    sim = undefined;
    ownRedis = undefined;
    redisUrl = TEST_REDIS_URL;
  });

  async function setup(
    simPatch: SimulatorConfigPatch,
    extra: Record<string, string> = {},
    workers = 2,
  ): Promise<{ sim: Simulator; producer: Producer; fleet: WorkerFleet; metricsPort: number }> {
    prefix = uniquePrefix('sys');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 20 }, ...simPatch });
    producer = new Producer({ redis: redisUrl, prefix });
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl,
        prefix,
        simulatorUrl: sim.url,
        extra: { CIRCUIT_PROBE_MS: '1000', SF_MAX_CONCURRENCY: '8', ...extra },
      }),
    );
    const [first] = await fleet.start(workers);
    const ready = await first?.waitForLine(/"msg":"worker ready"/);
    const { metricsPort } = JSON.parse(ready ?? '{}') as { metricsPort: number };
    return { sim, producer, fleet, metricsPort };
  }

  it('holds a flow refused 403 INSUFFICIENT_ACCESS for 15 s: no dead letter, a few calls, resumes by itself', async () => {
    const { sim, producer, metricsPort } = await setup({});
    const ids = peopleIds('acc', 6_000);
    let sent = 0;
    const sending = (async () => {
      // 6,000 triggers over ~25 s, before, during and after the refusal.
      for (; sent < ids.length; sent += 60) {
        await producer.triggerMany(
          FLOW,
          ids.slice(sent, sent + 60).map((IndividualId) => ({ IndividualId })),
        );
        await sleep(250);
      }
    })();
    await waitFor(() => sim.stats().deliveries.unique >= 500, {
      message: 'a first part delivered',
    });
    sim.configure({ refuse: { kind: 'insufficient-access', flows: [FLOW] } });
    const refusedAt = Date.now();
    const before = sim.calls().length;
    await waitFor(
      async () => (await metricLines(metricsPort, 'flow_dispatcher_flow_held')).length > 0,
      {
        message: 'the flow held',
      },
    );
    const held = await metricLines(metricsPort, 'flow_dispatcher_flow_held');
    const stats = await runCli(['stats'], { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix });
    await sleep(15_000 - (Date.now() - refusedAt));
    const during = sim.calls().slice(before);
    const describesDuring = sim.stats().requests.describe.total;
    sim.configure({ refuse: null });
    await sending;
    await waitFor(() => sim.stats().deliveries.unique === ids.length, {
      message: 'every trigger delivered once the permission is back',
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    recordFigures('refused-insufficient-access', {
      triggers: ids.length,
      refusedForMs: 15_000,
      callsDuringRefusal: during.length,
      singleInputCallsDuringRefusal: during.filter((c) => c.inputs === 1).length,
      describes: describesDuring,
      deadLetters: await producer.deadLetters.count(),
      duplicates: sim.stats().deliveries.duplicates,
    });
    expect(held).toEqual([
      `flow_dispatcher_flow_held{flow="${FLOW}",reason="refused",code="INSUFFICIENT_ACCESS"} 1`,
    ]);
    expect(stats.stdout).toMatch(new RegExp(`held\\s+${FLOW} \\(refused INSUFFICIENT_ACCESS\\)`));
    // The calls in flight when the refusal began, and nothing after: the flow was held.
    expect(during.length).toBeLessThanOrEqual(8);
    expect(during.filter((c) => c.inputs === 1)).toEqual([]);
    expect(await producer.deadLetters.count()).toBe(0);
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  it('holds every flow while the org refuses the API (403 API_DISABLED_FOR_ORG), then goes on', async () => {
    const { sim, producer } = await setup({});
    sim.configure({ refuse: { kind: 'api-disabled' } });
    const flows = [FLOW, 'Order_Confirmation_Email'];
    for (const flow of flows) {
      await producer.triggerMany(
        flow,
        peopleIds(flow === FLOW ? 'apis' : 'apio', 1_000).map((IndividualId) => ({ IndividualId })),
      );
    }
    await waitFor(async () => (await producer.redis.exists(producer.keys.fleetHold)) === 1, {
      message: 'the org held',
    });
    const flowsCli = await runCli(['flows', '--json'], {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
    });
    await sleep(8_000);
    const calls = sim.calls();
    const firstRefused = Math.min(...calls.map((c) => c.endedAt ?? Number.POSITIVE_INFINITY));
    const late = calls.filter((c) => c.startedAt > firstRefused + 100);
    recordFigures('refused-api-disabled', { calls: calls.length, late: late.length });
    sim.configure({ refuse: null });
    await waitFor(() => sim.stats().deliveries.unique === 2_000, {
      message: 'both flows delivered once the API is back',
      timeoutMs: 90_000,
    });
    expect(JSON.parse(flowsCli.stdout)).toMatchObject({
      heldAll: { reason: 'refused', code: 'API_DISABLED_FOR_ORG' },
    });
    // The hold reaches every worker within a round trip through Redis: the calls in flight when
    // the first refusal came finish, and none starts a moment later (a 100 ms allowance for that
    // round trip); not one call per trigger, nor a bisection down to single inputs.
    expect(late).toEqual([]);
    expect(calls.length).toBeLessThanOrEqual(8 + 2);
    expect(await producer.deadLetters.count()).toBe(0);
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  for (const mode of ['element', 'request'] as const) {
    it(`holds a flow whose sender adds an unknown input (${mode} errors): few calls, few dead letters, delivered after resume`, async () => {
      const triggers = mode === 'element' ? 50_000 : 10_000;
      const { sim, producer } = await setup({ unknownInputMode: mode });
      const ids = peopleIds(mode === 'element' ? 'unke' : 'unkr', triggers);
      for (let i = 0; i < ids.length; i += 5_000) {
        await producer.triggerMany(
          FLOW,
          ids
            .slice(i, i + 5_000)
            .map((IndividualId, k) => ({ IndividualId, signup_id: `s-${i + k}` })),
        );
      }
      await waitFor(async () => (await producer.redis.exists(producer.keys.circuit(FLOW))) === 1, {
        message: 'the breaker tripped',
        timeoutMs: 60_000,
      });
      await sleep(3_000); // calls in flight settle; nothing new may leave
      const calls = sim.stats().requests.invoke.total;
      const dead = await producer.deadLetters.count();
      const hold = JSON.parse((await producer.redis.get(producer.keys.circuit(FLOW))) ?? '{}');
      await sleep(2_000);
      expect(sim.stats().requests.invoke.total).toBe(calls);

      // The flow learns the input (the admin deploys a version that declares it), and the
      // operator resumes it: every held trigger goes out.
      const spec = simulatorDefaults.flows[FLOW];
      sim.configure({
        flows: {
          ...simulatorDefaults.flows,
          [FLOW]: {
            ...spec,
            inputs: [
              ...(spec?.inputs ?? []),
              { name: 'signup_id', type: 'STRING', required: false },
            ],
          },
        },
      });
      const resumed = await runCli(['resume', FLOW], { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix });
      expect(resumed.code).toBe(0);
      await waitFor(() => sim.stats().deliveries.unique + dead === triggers, {
        message: 'every held trigger delivered',
        timeoutMs: 120_000,
        intervalMs: 250,
      });
      recordFigures(`unknown-input-${mode}`, {
        triggers,
        callsBeforeHold: calls,
        deadLettered: dead,
        hold,
        delivered: sim.stats().deliveries.unique,
      });
      expect(hold).toMatchObject({ reason: 'breaker', code: 'INVALID_INPUT' });
      expect(hold.message).toContain('signup_id');
      expect(calls).toBeLessThanOrEqual(40);
      expect(dead).toBeLessThanOrEqual(200);
      expect(sim.stats().deliveries.duplicates).toBe(0);
    });
  }

  it('splits calls rolled back for their size before blaming an input, at a bounded cost', async () => {
    // One worker, so that one process learns the size; 8 calls in flight at most.
    const { sim, producer } = await setup(
      { transactionCapacity: 40 },
      { DISPATCH_LINGER_MS: '50' },
      1,
    );
    await producer.triggerMany(
      FLOW,
      peopleIds('roll', 2_000).map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(() => sim.stats().deliveries.unique === 2_000, {
      message: 'every trigger delivered',
      timeoutMs: 60_000,
    });
    const calls = sim.calls();
    const rolledBack = calls.filter((c) => c.rolledBack);
    recordFigures('rolled-back-split', {
      calls: calls.length,
      rolledBack: rolledBack.length,
      sizes: rolledBack.map((c) => c.inputs),
    });
    expect(await producer.deadLetters.count()).toBe(0);
    // Each rolled-back call halves the flow's size: from 200 to ≤ 40 takes three halvings, and at
    // most the calls in flight (8) fail at each size before the smaller one is learned.
    expect(rolledBack.length).toBeLessThanOrEqual(3 * 8);
    expect(
      Math.max(...calls.filter((c) => c.status === 200).map((c) => c.inputs)),
    ).toBeLessThanOrEqual(40);
  });

  it('never holds a flow for per-trigger faults mixed with successes, nor for a few lone bad triggers', async () => {
    const { sim, producer } = await setup({
      inputFaults: [
        {
          match: { field: 'IndividualId', regex: '7$' },
          error: { statusCode: 'INVALID_ID_FIELD', message: 'invalid cross reference id' },
        },
      ],
    });
    const ids = peopleIds('mix', 5_000);
    await producer.triggerMany(
      FLOW,
      ids.map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(
      async () => sim.stats().deliveries.unique + (await producer.deadLetters.count()) === 5_000,
      { message: 'every trigger settled', timeoutMs: 60_000 },
    );
    expect(await producer.deadLetters.count()).toBe(500);
    // A quiet flow: five bad triggers, each sent alone.
    const lone = peopleIds('lon', 50).filter((id) => id.endsWith('7'));
    expect(lone).toHaveLength(5);
    for (const [k, IndividualId] of lone.entries()) {
      await producer.triggerMany(FLOW, [{ IndividualId }]);
      await waitFor(async () => (await producer.deadLetters.count()) === 501 + k, {
        message: `lone bad trigger ${k + 1} dead-lettered`,
      });
    }
    expect(await producer.redis.exists(producer.keys.circuit(FLOW))).toBe(0);
  });

  for (const refusal of ['ConcurrentRequests', 'ConcurrentPerOrgApex'] as const) {
    it(`reads ${refusal} as fewer calls at once, never as the inputs' fault`, async () => {
      const { sim, producer, metricsPort } = await setup(
        { maxConcurrency: 3, concurrencyRefusal: refusal, latency: { kind: 'fixed', ms: 200 } },
        { SF_MAX_INPUTS_PER_CALL: '20', DISPATCH_LINGER_MS: '0' },
      );
      await producer.triggerMany(
        FLOW,
        peopleIds(refusal === 'ConcurrentRequests' ? 'creq' : 'capx', 2_000).map(
          (IndividualId) => ({
            IndividualId,
          }),
        ),
      );
      await waitFor(() => sim.stats().deliveries.unique === 2_000, {
        message: 'every trigger delivered',
        timeoutMs: 90_000,
      });
      const [limit] = await metricLines(metricsPort, 'flow_dispatcher_concurrency_limit');
      expect(sim.stats().refusedForLimits.concurrency).toBeGreaterThan(0);
      expect(Number(limit?.split(' ')[1])).toBeLessThan(8);
      expect(await producer.deadLetters.count()).toBe(0);
      expect(sim.stats().deliveries.duplicates).toBe(0);
    });
  }

  it('300 flows the org does not have cost a bounded number of requests and Redis connections', async () => {
    ownRedis = await startRedisServer();
    redisUrl = ownRedis.url;
    const { sim, producer } = await setup({});
    const names = Array.from({ length: 300 }, (_, i) => `No_Such_Flow_${i}`);
    for (const name of names)
      await producer.triggerMany(name, [{ IndividualId: peopleIds('nsf', 1)[0] }]);
    const startedAt = Date.now();
    // The real flow's triggers go out meanwhile.
    await producer.triggerMany(
      FLOW,
      peopleIds('real', 1_000).map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(() => sim.stats().deliveries.unique === 1_000, {
      message: 'the real flow delivered',
      timeoutMs: 60_000,
    });
    await sleep(30_000 - (Date.now() - startedAt));
    const requests = sim.stats().requests;
    const total = Object.values(requests).reduce((n, kind) => n + kind.total, 0);
    const admin = new Redis(redisUrl);
    const clients = String(await admin.call('CLIENT', 'LIST'))
      .trim()
      .split('\n').length;
    await admin.quit();
    recordFigures('unknown-flows', {
      flows: names.length,
      requests,
      total,
      redisClients: clients,
    });
    // One call per made-up flow (its 404 holds it), probes at most one a second for the fleet.
    expect(total).toBeLessThanOrEqual(300 + 40 + 20);
    // Two workers: a few connections each (commands, pub/sub, the real flow's consumer), the
    // producer and this one; none per made-up flow.
    expect(clients).toBeLessThanOrEqual(24);
    expect(await producer.deadLetters.count()).toBe(0);
  });
});
