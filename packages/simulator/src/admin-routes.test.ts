import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedCall } from './call-log.js';
import type { SimulatorStats } from './simulator-stats.js';
import { clientCredentialsToken, closeAll, inputsFor, invoke, start } from './test-support.js';

afterEach(closeAll);

async function admin(
  url: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const init: RequestInit =
    body === undefined
      ? { method: path.startsWith('POST ') ? 'POST' : 'GET' }
      : {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        };
  const response = await fetch(`${url}${path.replace(/^(GET|POST) /, '')}`, init);
  return { status: response.status, json: await response.json() };
}

describe('admin endpoints', () => {
  it('expose stats, calls, deliveries and their summary', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    await invoke(sim, token, 'Welcome_SMS', inputsFor(['a', 'b']));
    await invoke(sim, token, 'Welcome_SMS', inputsFor(['b', 'c']));
    await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'b' }, { EmailAddress: 'x' }]);

    const stats = (await admin(sim.url, 'GET /__sim/stats')).json as SimulatorStats;
    expect(stats.invokeCalls).toEqual({
      total: 3,
      byStatus: { '200': 2, '400': 1 },
      rolledBack: 0,
    });
    expect(stats.inputs).toEqual({ received: 6, succeeded: 5, failed: 1 });
    expect(stats.deliveries).toEqual({ unique: 3, total: 5, duplicates: 2 });
    expect(stats.tokenRequests).toEqual({ granted: 1, refused: 0 });
    expect(stats.apiUsage).toEqual({ used: 3, max: 100000 });
    expect(stats.concurrency.limit).toBeNull();

    expect((await admin(sim.url, 'GET /__sim/deliveries')).json).toEqual({ a: 1, b: 3, c: 1 });
    expect((await admin(sim.url, 'GET /__sim/deliveries/summary')).json).toEqual({
      uniqueDelivered: 3,
      totalDelivered: 5,
      duplicates: 2,
    });
    const calls = (await admin(sim.url, 'GET /__sim/calls')).json as RecordedCall[];
    expect(calls.map((c) => [c.seq, c.status])).toEqual([
      [1, 200],
      [2, 200],
      [3, 400],
    ]);
    const later = (await admin(sim.url, 'GET /__sim/calls?since=2')).json as RecordedCall[];
    expect(later.map((c) => c.seq)).toEqual([3]);
    expect(sim.calls({ since: 1 }).map((c) => c.seq)).toEqual([2, 3]);
  });

  it('configure, reset and expire tokens', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    expect(
      (
        await admin(sim.url, 'POST /__sim/config', {
          failNext: { http503: 1 },
          maxConcurrency: null,
        })
      ).status,
    ).toBe(200);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).status).toBe(503);
    const config = (await admin(sim.url, 'GET /__sim/config')).json as { maxConcurrency: unknown };
    expect(config.maxConcurrency).toBeNull();

    const bad = await admin(sim.url, 'POST /__sim/config', { dailyLimit: -1 });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: { code: string } }).error.code).toBe('INVALID_CONFIG');
    const typo = await admin(sim.url, 'POST /__sim/config', { dailyLimt: 5 });
    expect(typo.status).toBe(400);

    await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']));
    expect((await admin(sim.url, 'POST /__sim/reset')).status).toBe(200);
    expect(sim.calls()).toEqual([]);
    expect(sim.deliveries().size).toBe(0);
    expect(sim.stats().apiUsage.used).toBe(0);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).status).toBe(200);
    expect(sim.calls()[0]?.seq).toBe(3);

    expect((await admin(sim.url, 'POST /__sim/expire-tokens')).status).toBe(200);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).status).toBe(401);
  });

  it('answer 404 to unknown admin routes', async () => {
    const sim = await start();
    expect((await admin(sim.url, 'GET /__sim/nope')).status).toBe(404);
  });
});

describe('call record bounds', () => {
  it('keeps only the newest maxRecordedCalls calls, numbering on', async () => {
    const sim = await start({ maxRecordedCalls: 3 });
    const token = await clientCredentialsToken(sim);
    for (let i = 0; i < 5; i++) await invoke(sim, token, 'Welcome_SMS', inputsFor([`r${i}`]));
    expect(sim.calls().map((c) => c.seq)).toEqual([3, 4, 5]);
    expect(sim.calls({ since: 4 }).map((c) => c.seq)).toEqual([5]);
    sim.configure({ maxRecordedCalls: 2 });
    expect(sim.calls().map((c) => c.seq)).toEqual([4, 5]);
    await invoke(sim, token, 'Welcome_SMS', inputsFor(['r5']));
    expect(sim.calls().map((c) => c.seq)).toEqual([5, 6]);
    expect(sim.deliveries().size).toBe(6);
  });
});
