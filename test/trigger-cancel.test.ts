import { FlowControl } from '@flow-dispatcher/producer';
import { parseTriggerId, RedisKeys } from '@flow-dispatcher/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient, ingestEnv, startIngestProcess } from './ingest-support.js';
import { type CliProcess, runCli } from './support/cli-process.js';
import { useFaultRig } from './support/fault-rig.js';
import { recordFigures } from './support/faults.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const PREFIX = 'cancel';

describe('cancelling triggers', () => {
  const rig = useFaultRig({
    prefix: PREFIX,
    simulator: { latency: { kind: 'fixed', ms: 10 }, recordInputs: true },
  });
  let ingest: CliProcess | undefined;
  let client: IngestClient | undefined;
  afterEach(async () => {
    await client?.close();
    await ingest?.kill('SIGKILL');
    ingest = undefined;
    client = undefined;
  });

  it('never sends a cancelled trigger, by id or key, queued or scheduled; counters stay exact', async () => {
    const { sim, redis, producer } = rig;
    const keys = new RedisKeys(PREFIX);
    const control = new FlowControl(producer.redis, keys);
    const started = await startIngestProcess(ingestEnv(redis.url, PREFIX));
    ingest = started.process;
    client = new IngestClient(started.url);

    // A paused flow with 1,000 queued triggers (keyed) and 500 scheduled 8 s ahead.
    await control.pause(FLOW);
    const fleet = await rig.workers(2, { DISPATCH_LINGER_MS: '20' });
    const queued = await producer.triggerMany(
      FLOW,
      Array.from({ length: 1_000 }, (_, i) => ({ IndividualId: `q-${i}` })),
      { keys: Array.from({ length: 1_000 }, (_, i) => `k-${i}`) },
    );
    const scheduled = await producer.triggerMany(
      FLOW,
      Array.from({ length: 500 }, (_, i) => ({ IndividualId: `s-${i}` })),
      { delay: 8_000 },
    );
    expect(await producer.redis.hget(keys.pending, FLOW)).toBe('1500');
    expect(await producer.redis.hget(keys.scheduled, FLOW)).toBe('500');

    // Cancel 100 queued by id (library), 50 by key over HTTP, 50 scheduled by id over HTTP.
    const cancelledIds = new Set<string>();
    for (const receipt of queued.slice(0, 100)) {
      expect(await producer.cancel(receipt.id)).toEqual({
        id: receipt.id,
        cancelled: true,
        state: 'cancelled',
      });
      cancelledIds.add(`q-${queued.indexOf(receipt)}`);
    }
    for (let i = 100; i < 150; i++) {
      const answer = await client.request('DELETE', `/v1/flows/${FLOW}/keys/k-${i}`);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toEqual({ id: queued[i]?.id, cancelled: true, state: 'cancelled' });
      cancelledIds.add(`q-${i}`);
    }
    for (let i = 0; i < 50; i++) {
      const id = scheduled[i]?.id as string;
      const answer = await client.request('DELETE', `/v1/triggers/${id}`);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toEqual({ id, cancelled: true, state: 'cancelled' });
      cancelledIds.add(`s-${i}`);
    }
    // The command line: 10 more by key; an unknown one exits 1.
    const cliEnv = { REDIS_URL: redis.url, QUEUE_PREFIX: PREFIX };
    const keyArgs = Array.from({ length: 10 }, (_, i) => ['--key', `k-${150 + i}`]).flat();
    const cli = await runCli(['cancel', '--flow', FLOW, ...keyArgs], cliEnv);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout.trim().split('\n')).toEqual(
      Array.from({ length: 10 }, (_, i) => `${queued[150 + i]?.id}: cancelled`),
    );
    for (let i = 150; i < 160; i++) cancelledIds.add(`q-${i}`);
    const cliUnknown = await runCli(['cancel', '--flow', FLOW, '--key', 'nope'], cliEnv);
    expect(cliUnknown.code).toBe(1);
    expect(cliUnknown.stdout).toBe(`${FLOW} key nope: not found\n`);
    // A second cancel answers it is already cancelled; unknown ones are 404.
    expect(await producer.cancel(queued[0]?.id as string)).toEqual({
      id: queued[0]?.id,
      cancelled: false,
      state: 'cancelled',
    });
    expect((await client.request('DELETE', `/v1/flows/${FLOW}/keys/nope`)).status).toBe(404);
    const unknown = await client.request(
      'DELETE',
      `/v1/triggers/${FLOW}.c0000000000000000000000.0`,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.json?.error?.code).toBe('TRIGGER_NOT_FOUND');
    expect(await producer.cancel({ flow: FLOW, key: 'nope' })).toBeUndefined();
    // While a worker holds the chunk (its mark, as a worker's take sets it), cancel refuses.
    const held = parseTriggerId(queued[500]?.id as string);
    const jobKey = keys.job(FLOW, held?.chunkId as string);
    await producer.redis.hset(jobKey, '_held', 'a-worker-token');
    expect(await producer.cancel(queued[500]?.id as string)).toEqual({
      id: queued[500]?.id,
      cancelled: false,
      state: 'dispatching',
    });
    await producer.redis.hdel(jobKey, '_held');
    expect((await producer.getTrigger(queued[0]?.id as string))?.state).toBe('cancelled');

    // Counters: cancelled triggers are no longer pending; scheduled ones leave `scheduled`.
    expect(await producer.redis.hget(keys.pending, FLOW)).toBe('1290');
    expect(await producer.redis.hget(keys.scheduled, FLOW)).toBe('450');

    await control.resume(FLOW);
    await waitFor(async () => (await producer.redis.hget(keys.pending, FLOW)) === '0', {
      message: 'every trigger settled',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const delivered = sim.deliveries();
    const sentCancelled = [...cancelledIds].filter((id) => delivered.has(id));
    const sentOthers = [
      ...Array.from({ length: 840 }, (_, i) => `q-${i + 160}`),
      ...Array.from({ length: 450 }, (_, i) => `s-${i + 50}`),
    ].filter((id) => delivered.get(id) === 1);
    // A trigger whose chunk a worker holds is not cancelled (it may be in a call).
    const late = await producer.cancel(queued[999]?.id as string);
    recordFigures('trigger-cancel', {
      cancelled: cancelledIds.size,
      sentCancelled: sentCancelled.length,
      sentOthers: sentOthers.length,
      lateCancel: late,
    });
    expect(sentCancelled).toEqual([]);
    expect(sentOthers).toHaveLength(1_290);
    expect(delivered.size).toBe(1_290);
    expect(late).toEqual({ id: queued[999]?.id, cancelled: false, state: 'succeeded' });
    expect(await producer.redis.hget(keys.scheduled, FLOW)).toBe('0');
    void fleet;
  }, 120_000);
});
