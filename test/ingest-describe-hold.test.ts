import { createServer, type Server, type Socket } from 'node:net';
import {
  alwaysAvailableInputs,
  type Simulator,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  IngestClient,
  individualIds,
  ingestEnv,
  startIngestProcess,
  stored,
} from './ingest-support.js';
import { fleetEnv } from './support/fleet.js';
import { deletePrefix, keysUnder, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

const DROP_IN = '/services/data/v65.0/actions/custom/flow';
/** README: a flow Salesforce says does not exist is answered 404 for 60 s before it is asked again. */
const MISSING_FLOW_TTL_MS = 60_000;
/** README: a flow's first request waits at most 2 s for its describe. */
const DESCRIBE_HOLD_MS = 2_000;

/**
 * Ingest checks a flow's first request against the flow's describe (held for it, up to 2 s),
 * refuses a flow Salesforce does not have (404) without storing anything, and remembers that
 * answer, so many requests naming a made-up flow cost one describe. All against a real
 * `flow-dispatcher ingest` process and the simulator; the simulator charges every request under
 * /services/data to its daily allocation, and ingest makes no other kind, so the usage it reports
 * is the number of describes ingest sent.
 */
describe('ingest: describes before the first trigger of a flow', () => {
  let prefix: string;
  let sim: Simulator;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('ingest-hold');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    sim.configure({
      flows: {
        ...simulatorDefaults.flows,
        Store_Pickup_SMS: {
          label: 'Store pickup SMS',
          inputs: [
            ...alwaysAvailableInputs,
            { name: 'Store_Code', type: 'STRING', required: true },
          ],
        },
      },
    });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  async function startIngest(loginUrl = sim.url): Promise<IngestClient> {
    const env = ingestEnv(
      TEST_REDIS_URL,
      prefix,
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: loginUrl }),
    );
    // /metrics on the API port, which client.metric reads (fleetEnv's METRICS_PORT would move it).
    const { process: child, url } = await startIngestProcess({ ...env, METRICS_PORT: '' });
    cleanup.push(() => child.kill());
    const client = new IngestClient(url, undefined, 64);
    cleanup.push(() => client.close());
    return client;
  }

  // Describe requests only: ingest also reads /limits once for the fleet's API budget.
  const describes = () => sim.stats().requests.describe.total;

  it('refuses a flow Salesforce does not have from its first request, with one describe for 300 requests', async () => {
    const client = await startIngest();
    const started = Date.now();
    const people = individualIds('nf', 300);
    const native = (IndividualId: string) =>
      client.trigger('Made_Up_Flow', { input: { IndividualId } });
    const dropIn = (IndividualId: string) =>
      client.post(`${DROP_IN}/Made_Up_Flow`, { inputs: [{ IndividualId }] });

    // The first 100 at once, right after start (none of them knows the answer yet), then 100
    // drop-in requests at once, then 100 one after another, alternating the two routes.
    const burst = await Promise.all(people.slice(0, 100).map(native));
    const dropInBurst = await Promise.all(people.slice(100, 200).map(dropIn));
    const oneByOne = [];
    for (const [i, person] of people.slice(200).entries()) {
      oneByOne.push(await (i % 2 === 0 ? native(person) : dropIn(person)));
    }
    const elapsedMs = Date.now() - started;

    const nativeAnswers = [...burst, ...oneByOne.filter((_, i) => i % 2 === 0)];
    const dropInAnswers = [...dropInBurst, ...oneByOne.filter((_, i) => i % 2 === 1)];
    expect(nativeAnswers).toHaveLength(150);
    for (const answer of nativeAnswers) {
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({
        error: {
          code: 'FLOW_NOT_FOUND',
          message:
            'flow Made_Up_Flow does not exist in Salesforce, is not active, or is not shared with the API user',
        },
      });
    }
    for (const answer of dropInAnswers) {
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual([
        { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
      ]);
    }
    // One describe per flow per MISSING_FLOW_TTL_MS (the run takes a few seconds: one).
    expect(describes()).toBeGreaterThanOrEqual(1);
    expect(describes()).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / MISSING_FLOW_TTL_MS));
    expect(sim.stats().invokeCalls.total).toBe(0);
    // Nothing of the made-up flow reached Redis.
    const keys = await keysUnder(TEST_REDIS_URL, prefix);
    expect(keys.filter((key) => key.includes('Made_Up_Flow'))).toEqual([]);
    expect(await stored(TEST_REDIS_URL, prefix, 'Made_Up_Flow')).toEqual({ pending: {}, jobs: 0 });
  });

  it("checks a flow's first request against its describe, on both routes, right after start", async () => {
    const client = await startIngest();
    const [first, second, third] = individualIds('first', 3) as [string, string, string];

    // The mistake of the issue: a column sent as an input the flow does not declare.
    const unknown = await client.trigger('Welcome_SMS', {
      input: { IndividualId: first, signup_id: 'S-1' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toEqual({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^triggers\[0\]\.input: unknown input "signup_id"/),
    });
    const missing = await client.trigger('Store_Pickup_SMS', { input: { IndividualId: first } });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toMatch(/missing required input "Store_Code"/);
    const dropIn = await client.post(`${DROP_IN}/Order_Confirmation_Email`, {
      inputs: [{ IndividualId: second, signup_id: 'S-2' }],
    });
    expect(dropIn.status).toBe(400);
    expect(dropIn.json).toEqual([
      {
        actionName: 'Order_Confirmation_Email',
        isSuccess: false,
        errors: [
          {
            statusCode: 'INVALID_INPUT',
            message: expect.stringContaining('"signup_id"'),
            fields: ['signup_id'],
          },
        ],
        outputValues: null,
      },
    ]);
    for (const flow of ['Welcome_SMS', 'Store_Pickup_SMS', 'Order_Confirmation_Email']) {
      expect(await stored(TEST_REDIS_URL, prefix, flow), flow).toEqual({ pending: {}, jobs: 0 });
    }
    // One describe per flow, and every trigger was checked.
    expect(describes()).toBe(3);
    expect(
      await client.metric('flow_dispatcher_ingest_validation_skipped_total{reason="not_cached"}'),
    ).toBeUndefined();

    const good = await client.trigger('Store_Pickup_SMS', {
      input: { IndividualId: third, Store_Code: 'S1' },
    });
    expect(good.status).toBe(202);
    expect(await stored(TEST_REDIS_URL, prefix, 'Store_Pickup_SMS')).toMatchObject({
      pending: { Store_Pickup_SMS: '1' },
    });
  });

  it('accepts unchecked, as before, when the describe does not come within the hold', async () => {
    // A Salesforce that accepts connections and never answers: the token request hangs.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const client = await startIngest(`http://127.0.0.1:${port}`);
    const [person] = individualIds('hang', 1) as [string];

    const sent = Date.now();
    const answer = await client.trigger('Welcome_SMS', {
      input: { IndividualId: person, Anything: 'goes' },
    });
    const waitedMs = Date.now() - sent;
    expect(answer.status).toBe(202);
    // It was held for the describe (the hold is a lower bound; an upper one would be wall clock).
    expect(waitedMs).toBeGreaterThanOrEqual(DESCRIBE_HOLD_MS - 50);
    expect(
      await client.metric('flow_dispatcher_ingest_validation_skipped_total{reason="not_cached"}'),
    ).toBe(1);
    expect(await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS')).toMatchObject({
      pending: { Welcome_SMS: '1' },
    });
  });
});
