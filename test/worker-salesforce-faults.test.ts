import { connect, createServer, type Server, type Socket } from 'node:net';
import { Producer } from '@flow-dispatcher/producer';
import {
  alwaysAvailableInputs,
  type Simulator,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { freePort } from '@flow-dispatcher/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { peopleIds, WorkerFleet } from './support/faults.js';
import { fleetEnv, metricSample, workerMetrics } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * What a worker process does when Salesforce refuses in ways that are not a trigger's fault
 * (README, "How it works"): a call refused as a whole is split until the bad input is found; a
 * session not valid for the REST API and a refused connection make triggers wait, never fail; a
 * missing flow's circuit holds only that flow. Real worker processes, real Redis, the simulator.
 */
describe('worker against a misbehaving Salesforce', () => {
  let prefix: string;
  let producer: Producer;
  let sim: Simulator | undefined;
  let fleet: WorkerFleet | undefined;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(() => {
    prefix = uniquePrefix('sf-faults');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
  });

  afterEach(async () => {
    await fleet?.killAll();
    while (cleanup.length) await cleanup.pop()?.();
    await producer.close();
    await sim?.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  const statesOf = async (ids: readonly string[]) =>
    Promise.all(ids.map((id) => producer.getTrigger(id)));

  it('splits a call refused as a whole in two, again and again, until the bad input is found', async () => {
    // Salesforce refuses the whole request (HTTP 400 INVALID_INPUT) for an undeclared input.
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 10 },
      unknownInputMode: 'request',
    });
    const people = peopleIds('split', 64);
    const BAD = 37;
    await producer.triggerMany(
      'Welcome_SMS',
      people.map((IndividualId, i) =>
        i === BAD ? { IndividualId, Unknown_Input: 'x' } : { IndividualId },
      ),
    );
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        // The 64 go out as one call.
        extra: { SF_MAX_INPUTS_PER_CALL: '64', DISPATCH_LINGER_MS: '500' },
      }),
    );
    await fleet.start(1);
    const simulator = sim;
    // (The simulator counts a delivery when the interview runs, before its call is answered.)
    await waitFor(
      async () =>
        simulator.stats().deliveries.unique === 63 &&
        simulator.calls().every((c) => c.status !== 'in-flight') &&
        (await producer.deadLetters.count()) === 1,
      { message: '63 delivered and the bad input dead-lettered', timeoutMs: 60_000 },
    );

    const deliveries = sim.deliveries();
    expect(people.filter((id, i) => i !== BAD && deliveries.get(id) !== 1)).toEqual([]);
    expect(deliveries.has(people[BAD] as string)).toBe(false);
    const [letter] = await producer.deadLetters.list({}, 5);
    expect(letter?.input).toEqual({ IndividualId: people[BAD], Unknown_Input: 'x' });
    expect(letter?.error).toMatchObject({ code: 'INVALID_INPUT', status: 400 });
    expect(letter?.error.message).toContain('Unknown_Input');
    // Halving: the refused calls carried 64, 32, 16, 8, 4, 2 and finally the bad input alone; each
    // refusal's other half went through. 13 calls for 64 inputs (2 log2 n + 1).
    const calls = sim.calls();
    expect(calls.filter((c) => c.status === 400).map((c) => c.inputs)).toEqual([
      64, 32, 16, 8, 4, 2, 1,
    ]);
    expect(
      calls
        .filter((c) => c.status === 200)
        .map((c) => c.inputs)
        .sort((a, b) => b - a),
    ).toEqual([32, 16, 8, 4, 2, 1]);
  });

  it('makes triggers wait, not fail, while the session is not valid for the REST API', async () => {
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 10 },
      restApiDisabled: true,
    });
    const receipts = await producer.triggerMany(
      'Welcome_SMS',
      peopleIds('rest', 10).map((IndividualId) => ({ IndividualId })),
    );
    // One counted failure would dead-letter a trigger: none may be counted.
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        extra: { DISPATCH_MAX_ATTEMPTS: '1' },
      }),
    );
    const [worker] = await fleet.start(1);
    const simulator = sim;
    // The worker tried and was refused; each trigger then waits (30 s before the next try: an
    // operator has to act), its attempts untouched.
    await waitFor(
      async () =>
        (simulator.stats().invokeCalls.byStatus['401'] ?? 0) >= 1 &&
        (await statesOf(receipts.map((r) => r.id))).every((s) => s?.state === 'retrying'),
      { message: 'a call refused for the session, and its triggers waiting', timeoutMs: 60_000 },
    );
    const waiting = await statesOf(receipts.map((r) => r.id));
    expect(waiting.map((s) => [s?.attempts, s?.error?.code])).toEqual(
      receipts.map(() => [0, 'AUTH_MISCONFIGURED']),
    );
    // Reported as the configuration problem it is.
    await worker?.waitForLine(/not valid for use with the REST API/);
    expect(await producer.deadLetters.count()).toBe(0);
    expect(sim.stats().deliveries.unique).toBe(0);

    // The administrator fixes the connected app: everything goes through, once.
    sim.configure({ restApiDisabled: false });
    await waitFor(() => simulator.stats().deliveries.unique === 10, {
      message: 'delivered once the session is valid',
      timeoutMs: 60_000,
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
    expect(await producer.deadLetters.count()).toBe(0);
    await waitFor(
      async () =>
        (await statesOf(receipts.map((r) => r.id))).every((s) => s?.state === 'succeeded'),
      { message: 'every trigger succeeded' },
    );
  });

  it('makes triggers wait, not fail, while connections to Salesforce are refused', async () => {
    // The token endpoint answers; the instance the tokens name refuses connections (nothing
    // listens on its port) until a forwarder to the simulator is started there.
    const instancePort = await freePort();
    const simPort = await freePort();
    sim = await startSimulator({
      port: simPort,
      publicUrl: `http://127.0.0.1:${instancePort}`,
      latency: { kind: 'fixed', ms: 10 },
    });
    const receipts = await producer.triggerMany(
      'Welcome_SMS',
      peopleIds('refus', 10).map((IndividualId) => ({ IndividualId })),
    );
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: `http://127.0.0.1:${simPort}`,
        extra: { DISPATCH_MAX_ATTEMPTS: '1' },
      }),
    );
    const [worker] = await fleet.start(1);
    if (!worker) throw new Error('no worker');
    const refusedCalls = async () =>
      metricSample(await workerMetrics(worker), 'flow_dispatcher_salesforce_requests_total', {
        status: 'connection_failed',
      }) ?? 0;
    // Tried again and again (every trigger at least three times), refused each time.
    await waitFor(async () => (await refusedCalls()) >= 30, {
      message: 'calls refused at the connection',
      timeoutMs: 60_000,
    });
    // Waiting (between tries, or being tried again), none of their attempts spent.
    const waiting = await statesOf(receipts.map((r) => r.id));
    for (const status of waiting) {
      expect(['retrying', 'dispatching']).toContain(status?.state);
      expect([status?.attempts, status?.error?.code]).toEqual([0, 'CONNECTION_FAILED']);
    }
    expect(await producer.deadLetters.count()).toBe(0);
    expect(sim.stats().invokeCalls.total).toBe(0);

    const forwarder = await forward(instancePort, simPort);
    cleanup.push(() => forwarder.close());
    const simulator = sim;
    await waitFor(() => simulator.stats().deliveries.unique === 10, {
      message: 'delivered once connections go through',
      timeoutMs: 60_000,
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
    expect(await producer.deadLetters.count()).toBe(0);
  });

  it('holds a missing flow behind its circuit while other flows go on, and says so in /metrics', async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 10 } });
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: TEST_REDIS_URL,
        prefix,
        simulatorUrl: sim.url,
        extra: { CIRCUIT_PROBE_MS: '1000' },
      }),
    );
    const [worker] = await fleet.start(1);
    if (!worker) throw new Error('no worker');
    const circuit = async (flow: string) =>
      metricSample(await workerMetrics(worker), 'flow_dispatcher_circuit_open', { flow });

    const late = peopleIds('late', 20);
    await producer.triggerMany(
      'Late_Flow',
      late.map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(async () => (await circuit('Late_Flow')) === 1, {
      message: 'the circuit of the missing flow open',
    });
    const lateCalls = () => (sim?.calls() ?? []).filter((c) => c.flow === 'Late_Flow').length;
    const lateCallsAtOpening = lateCalls();
    // More of the missing flow's triggers (a worker not holding them back would send these at
    // once), and the other flows, which go on meanwhile.
    const lateToo = peopleIds('late2', 20);
    await producer.triggerMany(
      'Late_Flow',
      lateToo.map((IndividualId) => ({ IndividualId })),
    );
    late.push(...lateToo);
    const sms = peopleIds('osms', 500);
    const email = peopleIds('oeml', 500);
    await producer.triggerMany(
      'Welcome_SMS',
      sms.map((IndividualId) => ({ IndividualId })),
    );
    await producer.triggerMany(
      'Order_Confirmation_Email',
      email.map((IndividualId) => ({ IndividualId })),
    );
    const simulator = sim;
    await waitFor(() => simulator.stats().deliveries.unique === 1_000, {
      message: 'the other flows delivered',
      timeoutMs: 60_000,
    });
    expect(await circuit('Late_Flow')).toBe(1);
    // Held, not retried: no call of the missing flow since its circuit opened.
    expect(lateCalls()).toBe(lateCallsAtOpening);
    for (const flow of ['Welcome_SMS', 'Order_Confirmation_Email'])
      expect(await circuit(flow)).not.toBe(1);
    const deliveries = sim.deliveries();
    expect(late.filter((id) => deliveries.has(id))).toEqual([]);
    expect(await producer.deadLetters.count()).toBe(0);

    // The flow is deployed: the probe closes its circuit, its triggers go, the gauge says 0.
    sim.configure({
      flows: { ...simulatorDefaults.flows, Late_Flow: { inputs: [...alwaysAvailableInputs] } },
    });
    await waitFor(() => simulator.stats().deliveries.unique === 1_040, {
      message: 'the held flow delivered once it is back',
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await circuit('Late_Flow')) === 0, { message: 'the gauge at 0' });
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });
});

/** A TCP forwarder listening on 127.0.0.1:`from`, to 127.0.0.1:`to`. */
async function forward(from: number, to: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(to, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(from, '127.0.0.1', resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
