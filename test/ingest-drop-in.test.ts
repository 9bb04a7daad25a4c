import {
  alwaysAvailableInputs,
  type Simulator,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, individualIds, ingestEnv, startIngest, stored } from './ingest-support.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const DROP_IN = '/services/data/v65.0/actions/custom/flow';

describe('ingest: the Salesforce drop-in endpoint and describe checks', () => {
  let prefix: string;
  let sim: Simulator;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('ingest-dropin');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    // A flow with a required input of its own, beside the defaults.
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

  async function ingestWithSalesforce(simulatorUrl = sim.url) {
    const server = await startIngest(
      ingestEnv(
        TEST_REDIS_URL,
        prefix,
        fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl }),
      ),
    );
    cleanup.push(() => server.close());
    const client = new IngestClient(server.url);
    cleanup.push(() => client.close());
    return client;
  }

  it('answers a Salesforce-shaped request in Salesforce result shape, and delivers it', async () => {
    const client = await ingestWithSalesforce();
    const people = individualIds('drop', 3);
    const inputs = people.map((IndividualId, i) => ({
      IndividualId,
      TelephoneNumber: '+15550100',
      Coupon_Code: `WELCOME${i}`,
    }));
    const answer = await client.post(
      `${DROP_IN}/Welcome_SMS`,
      { inputs },
      { 'idempotency-key': 'signup-batch-1' },
    );
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual(
      people.map(() => ({
        actionName: 'Welcome_SMS',
        isSuccess: true,
        errors: null,
        outputValues: { triggerId: expect.stringMatching(/^Welcome_SMS\./), duplicate: false },
      })),
    );
    const ids = answer.json.map(
      (r: { outputValues: { triggerId: string } }) => r.outputValues.triggerId,
    );

    // The same request again (a client retry): nothing new is stored.
    const again = await client.post(
      `${DROP_IN}/Welcome_SMS`,
      { inputs },
      { 'idempotency-key': 'signup-batch-1' },
    );
    expect(again.json.map((r: { outputValues: unknown }) => r.outputValues)).toEqual(
      ids.map((triggerId: string) => ({ triggerId, duplicate: true })),
    );

    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    await waitFor(() => sim.stats().deliveries.unique === 3, { message: '3 deliveries' });
    expect(sim.stats().deliveries.duplicates).toBe(0);
    const status = await waitFor(
      async () => {
        const s = await client.get(`/v1/triggers/${ids[0]}`);
        return s.json?.state === 'succeeded' ? s : undefined;
      },
      { message: 'the trigger to read succeeded' },
    );
    expect(status.json).toEqual({
      id: ids[0],
      flow: 'Welcome_SMS',
      state: 'succeeded',
      attempts: 1,
      result: expect.objectContaining({ Flow__InterviewGuid: expect.any(String) }),
      error: null,
      enqueuedAt: expect.any(String),
      lastAttemptAt: expect.any(String),
      settledAt: expect.any(String),
    });
    expect((await client.get('/v1/triggers/Welcome_SMS.c00000000000000000000000.0')).status).toBe(
      404,
    );
  });

  it('fails bad inputs element by element, as Salesforce does, and stores the good ones', async () => {
    const client = await ingestWithSalesforce();
    // The describe is fetched in the background on first use; GET /v1/flows waits for it.
    const describe = await client.get('/v1/flows/Welcome_SMS');
    expect(describe.status).toBe(200);
    expect(describe.json.inputs.map((i: { name: string }) => i.name)).toEqual([
      'IndividualId',
      'EmailAddress',
      'TelephoneNumber',
      'Coupon_Code',
    ]);
    const [good, other] = individualIds('elem', 2);
    const answer = await client.post(`${DROP_IN}/Welcome_SMS`, {
      inputs: [
        { IndividualId: good },
        { EmailAddress: 'x@example.com' },
        { IndividualId: other, coupon_code: 'lower-case name' },
        'not an object',
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.json[0]).toMatchObject({ isSuccess: true, errors: null });
    expect(answer.json.slice(1)).toEqual([
      {
        actionName: 'Welcome_SMS',
        isSuccess: false,
        errors: [
          {
            statusCode: 'REQUIRED_FIELD_MISSING',
            message: expect.stringContaining('IndividualId'),
            fields: ['IndividualId'],
          },
        ],
        outputValues: null,
      },
      {
        actionName: 'Welcome_SMS',
        isSuccess: false,
        errors: [
          {
            statusCode: 'INVALID_INPUT',
            message: expect.stringContaining('"coupon_code"'),
            fields: ['coupon_code'],
          },
        ],
        outputValues: null,
      },
      {
        actionName: 'Welcome_SMS',
        isSuccess: false,
        errors: [
          {
            statusCode: 'INVALID_INPUT',
            message: expect.stringContaining('JSON object'),
            fields: ['input'],
          },
        ],
        outputValues: null,
      },
    ]);
    expect(await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS')).toMatchObject({
      pending: { Welcome_SMS: '1' },
    });

    // A flow Salesforce does not know: the whole request is refused, as Salesforce would.
    expect((await client.get('/v1/flows/No_Such_Flow')).status).toBe(404);
    const missing = await client.post(`${DROP_IN}/No_Such_Flow`, {
      inputs: [{ IndividualId: good }],
    });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual([
      { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
    ]);
  });

  it("answers the drop-in describe with Salesforce's own values, and a missing flow with Salesforce's 404", async () => {
    const client = await ingestWithSalesforce();
    const answer = await client.get(`${DROP_IN}/Store_Pickup_SMS`);
    expect(answer.status).toBe(200);

    // What Salesforce (the simulator) answers for the same describe, asked directly.
    const token = await fetch(`${sim.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'sim-client-id',
        client_secret: 'sim-client-secret',
      }).toString(),
    });
    const { access_token } = (await token.json()) as { access_token: string };
    const salesforce = (await (
      await fetch(`${sim.url}${DROP_IN}/Store_Pickup_SMS`, {
        headers: { authorization: `Bearer ${access_token}` },
      })
    ).json()) as Record<string, unknown> & { inputs: Record<string, unknown>[] };

    // Salesforce's top-level keys, each with Salesforce's value (ingest keeps no description).
    expect(Object.keys(answer.json).sort()).toEqual([
      'description',
      'inputs',
      'label',
      'name',
      'outputs',
      'standard',
      'targetEntityName',
      'type',
    ]);
    for (const key of ['label', 'name', 'standard', 'targetEntityName', 'type']) {
      expect(answer.json[key], key).toEqual(salesforce[key]);
    }
    expect(answer.json.description).toBeNull();
    // Each input with Salesforce's values for the keys ingest keeps.
    expect(answer.json.inputs).toEqual(
      salesforce.inputs.map((input) => ({
        description: input.description,
        label: input.label,
        maxOccurs: input.maxOccurs,
        name: input.name,
        required: input.required,
        type: input.type,
      })),
    );
    expect(answer.json.inputs.find((i: { name: string }) => i.name === 'Store_Code')).toMatchObject(
      { required: true, type: 'STRING' },
    );

    const missing = await client.get(`${DROP_IN}/No_Such_Flow`);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual([
      { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' },
    ]);
    const wrongVersion = await client.get('/services/data/v65.1/actions/custom/flow/Welcome_SMS');
    expect(wrongVersion.status).toBe(404);
    // Salesforce was asked once per flow (the simulator's own describe above is the third).
    expect(sim.stats().requests.describe.total).toBe(3);
    expect((await client.get(`${DROP_IN}/Store_Pickup_SMS`)).status).toBe(200);
    expect(sim.stats().requests.describe.total).toBe(3);
  });

  it('checks native triggers against the describe: unknown or missing inputs are a 400 naming them', async () => {
    const client = await ingestWithSalesforce();
    await client.get('/v1/flows/Store_Pickup_SMS');
    const [person] = individualIds('desc', 1);
    const missingInput = await client.trigger('Store_Pickup_SMS', {
      input: { IndividualId: person as string },
    });
    expect(missingInput.status).toBe(400);
    expect(missingInput.json.error).toEqual({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^triggers\[0\]\.input: missing required input "Store_Code"/),
    });
    const unknownInput = await client.trigger('Store_Pickup_SMS', {
      input: { IndividualId: person as string, Store_Code: 'S1', store_code: 'S1' },
    });
    expect(unknownInput.status).toBe(400);
    expect(unknownInput.json.error.message).toMatch(/unknown input "store_code"/);
    // A flow Salesforce does not have is refused from its first request (held for the describe).
    const refused = await client.trigger('No_Such_Flow', {
      input: { IndividualId: person as string },
    });
    expect(refused.status).toBe(404);
    expect(refused.json.error.code).toBe('FLOW_NOT_FOUND');
    expect((await stored(TEST_REDIS_URL, prefix, 'No_Such_Flow')).jobs).toBe(0);
    const nothing = await stored(TEST_REDIS_URL, prefix, 'Store_Pickup_SMS');
    expect(nothing.pending.Store_Pickup_SMS).toBeUndefined();
    expect(nothing.jobs).toBe(0);

    const ok = await client.trigger('Store_Pickup_SMS', {
      input: { IndividualId: person as string, Store_Code: 'S1' },
    });
    expect(ok.status).toBe(202);
  });

  it('accepts triggers unchecked, counted, when Salesforce cannot be reached', async () => {
    const down = await startSimulator({ port: 0 });
    const downUrl = down.url;
    await down.close();
    const client = await ingestWithSalesforce(downUrl);
    const people = individualIds('nosf', 3);
    for (const IndividualId of people) {
      const answer = await client.trigger('Welcome_SMS', {
        input: { IndividualId, Anything_Goes: 1 },
      });
      expect(answer.status).toBe(202);
    }
    // Once the describe is known to fail, triggers say so in the metric.
    expect((await client.get('/v1/flows/Welcome_SMS')).json.error.code).toBe(
      'SALESFORCE_UNAVAILABLE',
    );
    const last = await client.trigger('Welcome_SMS', {
      input: { IndividualId: people[0] as string },
    });
    expect(last.status).toBe(202);
    const skipped = async (reason: string) =>
      (await client.metric(
        `flow_dispatcher_ingest_validation_skipped_total{reason="${reason}"}`,
      )) ?? 0;
    expect(await skipped('salesforce_unavailable')).toBeGreaterThanOrEqual(1);
    expect((await skipped('not_cached')) + (await skipped('salesforce_unavailable'))).toBe(4);
  });
});
