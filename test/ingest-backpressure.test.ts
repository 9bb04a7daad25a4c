import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, individualIds, ingestEnv, startIngest, stored } from './ingest-support.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

describe('ingest backpressure', () => {
  let prefix: string;
  let sim: Simulator;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('ingest-bp');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('answers 429 with Retry-After past the backlog limit, writes nothing, and takes work again once drained', async () => {
    const server = await startIngest(
      ingestEnv(TEST_REDIS_URL, prefix, { INGEST_MAX_BACKLOG: '100' }),
    );
    cleanup.push(() => server.close());
    const client = new IngestClient(server.url);
    cleanup.push(() => client.close());

    // One request of 120 triggers brings the backlog past its limit (no worker runs).
    const first = await client.post('/v1/flows/Welcome_SMS/triggers', {
      triggers: individualIds('bp', 120).map((IndividualId) => ({ input: { IndividualId } })),
    });
    expect(first.status).toBe(202);
    await waitFor(
      async () => (await client.metric('flow_dispatcher_ingest_backlog_triggers')) === 120,
      {
        message: 'ingest to read the backlog',
      },
    );
    const before = await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS');
    expect(before).toEqual({ pending: { Welcome_SMS: '120' }, jobs: 1 });

    const refused = await client.trigger('Welcome_SMS', {
      input: { IndividualId: '0PKbp999999999999' },
    });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json).toEqual({
      error: {
        code: 'BACKLOG_FULL',
        message: expect.stringMatching(/backlog \(120 triggers waiting\) is at its limit of 100/),
      },
    });
    const dropIn = await client.post('/services/data/v65.0/actions/custom/flow/Welcome_SMS', {
      inputs: [{ IndividualId: '0PKbp999999999998' }],
    });
    expect(dropIn.status).toBe(429);
    expect(dropIn.headers['retry-after']).toBe('1');
    expect(dropIn.json).toEqual([
      { errorCode: 'REQUEST_LIMIT_EXCEEDED', message: expect.any(String) },
    ]);
    expect(await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS')).toEqual(before);

    // Workers drain the backlog; ingest takes work again.
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    cleanup.push(() => worker.close());
    await waitFor(
      async () => (await client.metric('flow_dispatcher_ingest_backlog_triggers')) === 0,
      {
        message: 'the backlog to drain',
      },
    );
    const accepted = await client.trigger('Welcome_SMS', {
      input: { IndividualId: '0PKbp999999999999' },
    });
    expect(accepted.status).toBe(202);
    await waitFor(() => sim.stats().deliveries.unique === 121, { message: '121 deliveries' });
  });
});
