import {
  alwaysAvailableInputs,
  type Simulator,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { individualIds, ingestEnv, startIngest, TOKEN } from './ingest-support.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * The drop-in endpoint through jsforce 3, the Node client most Salesforce code uses: a
 * Connection whose instance URL is ingest and whose access token is an ingest token. Describe,
 * invoke, a per-input failure, a bad token and an unknown flow are answered and parsed as from
 * Salesforce, and what the worker then sent reached the simulator (Salesforce) as invoked.
 */

// biome-ignore lint/suspicious/noExplicitAny: jsforce's answers, inspected by the test
type Json = any;

/** jsforce's error for a refused request: Salesforce's errorCode as `name` and `errorCode`. */
async function refusal(promise: PromiseLike<unknown>): Promise<Json> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected jsforce to reject');
}

describe('ingest: the drop-in endpoint through jsforce', () => {
  const prefix = uniquePrefix('jsforce');
  let sim: Simulator;
  let conn: Connection;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 }, recordInputs: true });
    cleanup.push(() => sim.close());
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
    const env = ingestEnv(
      TEST_REDIS_URL,
      prefix,
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    const server = await startIngest(env);
    cleanup.push(() => server.close());
    conn = new Connection({ instanceUrl: server.url, accessToken: TOKEN, version: '65.0' });
  });

  afterAll(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('describes, invokes, fails one input, and delivers what it accepted', async () => {
    // Describe, as Salesforce's docs for On-Demand Flows do before invoking.
    const described: Json = await conn.requestGet('/actions/custom/flow/Store_Pickup_SMS');
    expect(described).toMatchObject({ name: 'Store_Pickup_SMS', type: 'FLOW' });
    const store = described.inputs.find((input: Json) => input.name === 'Store_Code');
    expect(store).toMatchObject({ required: true, type: 'STRING' });
    // The full path works too, through conn.request.
    const again: Json = await conn.request({
      method: 'GET',
      url: '/services/data/v65.0/actions/custom/flow/Store_Pickup_SMS',
    });
    expect(again).toEqual(described);

    // Invoke: every input accepted.
    const [a, b, c, d] = individualIds('jsf', 4);
    const results: Json = await conn.requestPost('/actions/custom/flow/Store_Pickup_SMS', {
      inputs: [
        { IndividualId: a, Store_Code: 'S1' },
        { IndividualId: b, Store_Code: 'S2' },
      ],
    });
    expect(results).toEqual([
      {
        actionName: 'Store_Pickup_SMS',
        isSuccess: true,
        errors: null,
        outputValues: { triggerId: expect.stringMatching(/^Store_Pickup_SMS\./), duplicate: false },
      },
      {
        actionName: 'Store_Pickup_SMS',
        isSuccess: true,
        errors: null,
        outputValues: { triggerId: expect.stringMatching(/^Store_Pickup_SMS\./), duplicate: false },
      },
    ]);

    // A partial failure: HTTP 400 with one result per input, as Salesforce answers it. jsforce
    // rejects a 400; the per-input results are its error's `data`, as with Salesforce.
    const partial = await refusal(
      conn.requestPost('/actions/custom/flow/Store_Pickup_SMS', {
        inputs: [{ IndividualId: c, Store_Code: 'S3' }, { IndividualId: d }],
      }),
    );
    expect(partial.data).toEqual([
      expect.objectContaining({ isSuccess: true, errors: null }),
      {
        actionName: 'Store_Pickup_SMS',
        isSuccess: false,
        errors: [
          {
            statusCode: 'REQUIRED_FIELD_MISSING',
            message: expect.stringContaining('Store_Code'),
            fields: ['Store_Code'],
          },
        ],
        outputValues: null,
      },
    ]);

    // What reached Salesforce once a worker ran: the three accepted inputs, not the failed one.
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    // A call is logged with its status once answered (deliveries are counted before that).
    const answered = () =>
      sim
        .calls()
        .filter((call) => call.flow === 'Store_Pickup_SMS' && call.status === 200)
        .flatMap((call) => call.individualIds ?? []);
    const delivered = await waitFor(() => (answered().length >= 3 ? answered() : undefined), {
      message: 'the 3 accepted inputs delivered',
    });
    expect(delivered.sort()).toEqual([a, b, c].sort());
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  it('a bad token is INVALID_SESSION_ID and an unknown flow NOT_FOUND, as jsforce parses them', async () => {
    const invokesBefore = sim.calls().length;
    const stranger = new Connection({
      instanceUrl: conn.instanceUrl,
      accessToken: `${TOKEN}-wrong`,
      version: '65.0',
    });
    const badToken = await refusal(
      stranger.requestPost('/actions/custom/flow/Store_Pickup_SMS', {
        inputs: [{ IndividualId: '0PKjsf000000000099', Store_Code: 'S9' }],
      }),
    );
    expect(badToken.name).toBe('INVALID_SESSION_ID');
    expect(badToken.errorCode).toBe('INVALID_SESSION_ID');
    expect(badToken.message).toBe('Session expired or invalid');
    const badTokenDescribe = await refusal(stranger.requestGet('/actions/custom/flow/Welcome_SMS'));
    expect(badTokenDescribe.errorCode).toBe('INVALID_SESSION_ID');

    const unknownDescribe = await refusal(conn.requestGet('/actions/custom/flow/No_Such_Flow'));
    expect(unknownDescribe.errorCode).toBe('NOT_FOUND');
    expect(unknownDescribe.message).toBe('The requested resource does not exist');
    const unknownInvoke = await refusal(
      conn.requestPost('/actions/custom/flow/No_Such_Flow', {
        inputs: [{ IndividualId: '0PKjsf000000000098' }],
      }),
    );
    expect(unknownInvoke.name).toBe('NOT_FOUND');
    expect(unknownInvoke.errorCode).toBe('NOT_FOUND');
    // Nothing of these reached Salesforce's invoke endpoint.
    expect(sim.calls().length).toBe(invokesBefore);
  });
});
