import { Producer } from '@flow-dispatcher/producer';
import {
  alwaysAvailableInputs,
  type Simulator,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { freePort } from '@flow-dispatcher/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRecordingProxy } from './support/faults.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const ids = (prefix: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(from + i).padStart(15, '0')}`);

describe('core dispatch path', () => {
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('e2e');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 20 } });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await producer.close();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  async function worker(extra: Record<string, string> = {}) {
    const runtime = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url, extra }),
    );
    cleanup.push(() => runtime.close());
    return runtime;
  }

  it('delivers 10,000 triggers over two flows exactly once, in full calls, each outcome readable', async () => {
    const sms = ids('0PKsms', 6_000).map((IndividualId) => ({
      IndividualId,
      TelephoneNumber: '+15550100',
    }));
    const email = ids('0PKeml', 4_000).map((IndividualId) => ({
      IndividualId,
      EmailAddress: 'x@example.com',
    }));
    const receipts = [
      ...(await producer.triggerMany('Welcome_SMS', sms)),
      ...(await producer.triggerMany('Order_Confirmation_Email', email)),
    ];
    expect(receipts).toHaveLength(10_000);
    expect(new Set(receipts.map((r) => r.id)).size).toBe(10_000);

    await worker();
    await waitFor(() => sim.stats().deliveries.unique === 10_000, {
      message: '10,000 deliveries',
      timeoutMs: 60_000,
    });
    const stats = sim.stats();
    expect(stats.deliveries).toEqual({ unique: 10_000, total: 10_000, duplicates: 0 });
    // ceil(6000/200) + ceil(4000/200) = 50 full calls; a little slack for a partial call per flow.
    expect(stats.invokeCalls.total).toBeLessThanOrEqual(50 + 4);
    expect(Math.max(...sim.calls().map((call) => call.inputs))).toBeLessThanOrEqual(200);

    // The simulator counts a delivery before its answer reaches the worker; the last calls'
    // triggers read `dispatching` until the worker records them.
    const tally = async () => {
      const statuses = await Promise.all(receipts.map((r) => producer.getTrigger(r.id)));
      const counts = new Map<string, number>();
      for (const s of statuses)
        counts.set(
          `${s?.state}/${s?.attempts}`,
          (counts.get(`${s?.state}/${s?.attempts}`) ?? 0) + 1,
        );
      return { statuses, counts: Object.fromEntries(counts) };
    };
    const { statuses, counts } = await waitFor(
      async () => {
        const now = await tally();
        return now.counts['succeeded/1'] === 10_000 ? now : undefined;
      },
      { message: 'every trigger readable as succeeded', timeoutMs: 10_000 },
    );
    expect(counts).toEqual({ 'succeeded/1': 10_000 });
    // Nothing is left pending, and the finished chunk jobs are gone from Redis.
    expect(await producer.redis.hgetall(producer.keys.pending)).toEqual({
      Welcome_SMS: '0',
      Order_Confirmation_Email: '0',
    });
    expect(await producer.redis.keys(`{${prefix}}:q:Welcome_SMS:c*`)).toEqual([]);

    expect(statuses[0]?.result).toMatchObject({
      Flow__InterviewStatus: expect.any(String),
      Flow__InterviewGuid: expect.any(String),
    });
  });

  it('settles a partially failed call input by input', async () => {
    sim.configure({
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKperm' },
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'An error occurred when executing a flow interview.',
          },
        },
        {
          match: { field: 'IndividualId', prefix: '0PKlock' },
          error: {
            statusCode: 'UNABLE_TO_LOCK_ROW',
            message: 'unable to obtain exclusive access to this record',
          },
          times: 2,
        },
      ],
    });
    const good = ids('0PKgood', 50);
    const perm = ids('0PKperm', 5);
    const lock = ids('0PKlock', 5);
    const all = [...good, ...perm, ...lock];
    const receipts = await producer.triggerMany(
      'Welcome_SMS',
      all.map((IndividualId) => ({ IndividualId })),
    );
    const byId = new Map(all.map((id, i) => [id, receipts[i]?.id ?? '']));

    await worker();
    await waitFor(
      async () =>
        (await producer.deadLetters.count()) === 5 && sim.stats().deliveries.unique === 55,
      {
        message: 'every trigger settled',
      },
    );
    // Good inputs once each, even though their first call came back HTTP 400.
    const delivered = sim.deliveries();
    for (const id of good) expect(delivered.get(id)).toBe(1);
    for (const id of lock) expect(delivered.get(id)).toBe(1);
    for (const id of perm) expect(delivered.get(id)).toBeUndefined();
    expect(sim.calls()[0]?.status).toBe(400);

    // The simulator counts a delivery before its answer reaches the worker: wait for the record.
    const lockStatus = await waitFor(
      async () => {
        const status = await producer.getTrigger(byId.get(lock[0] as string) ?? '');
        return status?.state === 'succeeded' ? status : undefined;
      },
      { message: 'the locked trigger recorded as succeeded' },
    );
    expect(lockStatus).toMatchObject({ state: 'succeeded', attempts: 3 });
    const permStatus = await producer.getTrigger(byId.get(perm[0] as string) ?? '');
    expect(permStatus).toMatchObject({
      state: 'dead',
      attempts: 1,
      error: { code: 'UNKNOWN_EXCEPTION', status: 400 },
    });

    const letters = await producer.deadLetters.list();
    expect(letters.map((l) => l.input.IndividualId).sort()).toEqual([...perm].sort());
    expect(letters[0]).toMatchObject({
      flow: 'Welcome_SMS',
      error: { code: 'UNKNOWN_EXCEPTION' },
      attempts: 1,
    });

    // Replay after the flow is fixed: delivered under the same ids.
    sim.configure({ inputFaults: [] });
    expect(await producer.deadLetters.replay({ flow: 'Welcome_SMS' })).toBe(5);
    await waitFor(() => sim.stats().deliveries.unique === 60, {
      message: 'replayed triggers delivered',
    });
    expect(await producer.deadLetters.count()).toBe(0);
    await waitFor(
      async () =>
        (await producer.getTrigger(byId.get(perm[0] as string) ?? ''))?.state === 'succeeded',
      {
        message: 'replayed trigger reported succeeded under its original id',
      },
    );
  });

  it('refreshes an expired token once per expiry and loses nothing', async () => {
    await worker();
    await producer.triggerMany(
      'Welcome_SMS',
      ids('0PKtok', 500).map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(() => sim.stats().deliveries.unique === 500, { message: 'first batch' });
    expect(sim.stats().tokenRequests.granted).toBe(1);
    for (let round = 1; round <= 3; round++) {
      sim.expireTokens();
      await producer.triggerMany(
        'Welcome_SMS',
        ids('0PKtok', 500, round * 500).map((IndividualId) => ({ IndividualId })),
      );
      await waitFor(() => sim.stats().deliveries.unique === (round + 1) * 500, {
        message: `batch ${round}`,
      });
      expect(sim.stats().tokenRequests.granted).toBe(1 + round);
    }
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  it('rides out 503, 502 and connection-reset storms', async () => {
    sim.configure({ failNext: { http503: 6, http502: 4, reset: 3 } });
    await worker({ SF_MAX_INPUTS_PER_CALL: '50' });
    await producer.triggerMany(
      'Welcome_SMS',
      ids('0PKstm', 1_000).map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(() => sim.stats().deliveries.unique === 1_000, {
      message: 'all delivered',
      timeoutMs: 60_000,
    });
    const byStatus = sim.stats().invokeCalls.byStatus;
    expect(byStatus['503']).toBe(6);
    expect(byStatus['502']).toBe(4);
    expect(byStatus.reset).toBe(3);
    // Nothing ran in those calls, so nothing was delivered twice.
    expect(sim.stats().deliveries.duplicates).toBe(0);
    expect(await producer.deadLetters.count()).toBe(0);
  });

  it('spends no attempts on 503s (Salesforce took nothing), but does on 502s', async () => {
    // Three 503s in a row against a budget of two attempts: the trigger is not the problem, so it
    // waits (the fleet pauses between them) and is delivered at its first counted attempt.
    sim.configure({ failNext: { http503: 3 } });
    await worker({ DISPATCH_MAX_ATTEMPTS: '2' });
    const [patient] = await producer.triggerMany('Welcome_SMS', [
      { IndividualId: ids('0PK503', 1)[0] },
    ]);
    await waitFor(
      async () => (await producer.getTrigger(patient?.id ?? ''))?.state === 'succeeded',
      {
        message: 'delivered after three 503s',
        timeoutMs: 30_000,
      },
    );
    expect(sim.stats().invokeCalls.byStatus).toMatchObject({ '503': 3, '200': 1 });
    expect(await producer.getTrigger(patient?.id ?? '')).toMatchObject({ attempts: 1 });

    // Two 502s against the same budget: a gateway error may come after the flow ran, so each one
    // counts, and the trigger is dead-lettered with what happened.
    sim.configure({ failNext: { http502: 2 } });
    const [spent] = await producer.triggerMany('Welcome_SMS', [
      { IndividualId: ids('0PK502', 1)[0] },
    ]);
    await waitFor(async () => (await producer.getTrigger(spent?.id ?? ''))?.state === 'dead', {
      message: 'dead-lettered after two 502s',
      timeoutMs: 30_000,
    });
    const [letter] = await producer.deadLetters.list({}, 5);
    expect(letter).toMatchObject({ attempts: 2, error: { code: 'HTTP_502' } });
    expect(letter?.error.message).toContain('gave up after 2 attempts');
  });

  it('holds the triggers of a missing flow behind an open circuit until the flow is back', async () => {
    // Every request to Salesforce goes through a recording proxy (the tokens name it as their
    // instance), so the circuit's probes of the flow's describe can be seen.
    const proxy = await startRecordingProxy();
    cleanup.push(() => proxy.close());
    const simPort = await freePort();
    await sim.close();
    sim = await startSimulator({
      port: simPort,
      publicUrl: proxy.url,
      latency: { kind: 'fixed', ms: 20 },
    });
    proxy.target = `http://127.0.0.1:${simPort}`;
    const runtime = await startInProcessWorker(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: proxy.url,
        extra: { CIRCUIT_PROBE_MS: '1000' },
      }),
    );
    cleanup.push(() => runtime.close());
    const [receipt] = await producer.triggerMany('Late_Flow', [
      { IndividualId: '0PKmissing00000001' },
    ]);
    const id = receipt?.id ?? '';
    await waitFor(async () => (await producer.getTrigger(id))?.state === 'retrying', {
      message: 'trigger retrying',
    });
    const status = await producer.getTrigger(id);
    expect(status?.error).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(status?.error?.message).toMatch(/does not exist, is not active, or is not shared/);
    expect(status?.attempts).toBe(0);
    expect(await producer.redis.exists(producer.keys.circuit('Late_Flow'))).toBe(1);
    expect(await producer.deadLetters.count()).toBe(0);

    // While the circuit is open, the flow's triggers are not sent: after the second trigger is
    // stored, the worker probes the flow's describe twice (a second of work at least) and sends
    // nothing else for it.
    const callsWhileOpen = sim.stats().invokeCalls.total;
    const storedAt = Date.now();
    await producer.triggerMany('Late_Flow', [{ IndividualId: '0PKmissing00000002' }]);
    const lateFlow = '/services/data/v65.0/actions/custom/flow/Late_Flow';
    await waitFor(
      () =>
        proxy.requests.filter((r) => r.at > storedAt && r.method === 'GET' && r.path === lateFlow)
          .length >= 2,
      { message: 'two probes of the flow while its circuit is open' },
    );
    expect(proxy.requests.filter((r) => r.at > storedAt && r.method === 'POST')).toEqual([]);
    expect(sim.stats().invokeCalls.total).toBe(callsWhileOpen);
    expect(
      await runtime.metrics.registry.getSingleMetricAsString('flow_dispatcher_circuit_open'),
    ).toMatch(/flow_dispatcher_circuit_open\{flow="Late_Flow"\} 1/);

    // The flow is deployed: the probe closes the circuit and both triggers go through.
    sim.configure({
      flows: { ...simulatorDefaults.flows, Late_Flow: { inputs: [...alwaysAvailableInputs] } },
    });
    await waitFor(() => sim.stats().deliveries.unique === 2, {
      message: 'delivered once the flow is back',
    });
    await waitFor(async () => (await producer.getTrigger(id))?.state === 'succeeded', {
      message: 'succeeded',
    });
    expect(await producer.redis.exists(producer.keys.circuit('Late_Flow'))).toBe(0);
  });

  it('enqueues a repeated idempotency key once', async () => {
    const first = await producer.trigger(
      'Welcome_SMS',
      { IndividualId: '0PKidem00000000001' },
      { key: 'signup-42' },
    );
    const again = await producer.trigger(
      'Welcome_SMS',
      { IndividualId: '0PKidem00000000001' },
      { key: 'signup-42' },
    );
    const batch = await producer.triggerMany(
      'Welcome_SMS',
      [{ IndividualId: '0PKidem00000000001' }, { IndividualId: '0PKidem00000000002' }],
      {
        keys: ['signup-42', 'signup-43'],
      },
    );
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ id: first.id, key: 'signup-42', duplicate: true });
    expect(batch[0]).toEqual({ id: first.id, key: 'signup-42', duplicate: true });
    expect(batch[1]?.duplicate).toBe(false);
    await worker();
    // Everything stored is settled (a trigger stored twice for the key would still be pending
    // until it too had run): then count what ran.
    await waitFor(
      async () =>
        (await producer.redis.hget(producer.keys.pending, 'Welcome_SMS')) === '0' &&
        (await producer.getTrigger(first.id))?.state === 'succeeded' &&
        (await producer.getTrigger(batch[1]?.id ?? ''))?.state === 'succeeded',
      { message: 'both triggers settled' },
    );
    expect(sim.deliveries().get('0PKidem00000000001')).toBe(1);
    expect(sim.stats().deliveries).toEqual({ unique: 2, total: 2, duplicates: 0 });
  });
});
