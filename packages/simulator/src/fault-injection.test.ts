import { afterEach, describe, expect, it } from 'vitest';
import { FaultInjector } from './fault-injection.js';
import { createRandom } from './seeded-random.js';
import { defaultConfig } from './simulator-config.js';
import {
  clientCredentialsToken,
  closeAll,
  fixtureJson,
  fixtureText,
  inputsFor,
  invoke,
  start,
} from './test-support.js';

afterEach(closeAll);

describe('FaultInjector', () => {
  it('serves armed faults first, in a fixed order, one per call', () => {
    const injector = new FaultInjector();
    injector.arm({ http503: 2, reset: 1 });
    const random = createRandom(1);
    const config = defaultConfig();
    const picks = Array.from({ length: 4 }, () => injector.pick(config, random));
    expect(picks).toEqual(['reset', 'http503', 'http503', null]);
  });

  it('draws against the rates, about as often as configured', () => {
    const injector = new FaultInjector();
    const config = { ...defaultConfig(), http503Rate: 0.1, resetRate: 0.05 };
    const random = createRandom(7);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const fault = String(injector.pick(config, random));
      counts[fault] = (counts[fault] ?? 0) + 1;
    }
    expect(counts.http503).toBeGreaterThan(850);
    expect(counts.http503).toBeLessThan(1150);
    expect(counts.reset).toBeGreaterThan(400);
    expect(counts.reset).toBeLessThan(600);
  });
});

describe('whole-call faults over HTTP', () => {
  it('503: SERVER_UNAVAILABLE, nothing runs, not charged', async () => {
    const sim = await start({ failNext: { http503: 1 } });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']));
    expect(reply.status).toBe(503);
    expect(reply.json).toEqual([{ errorCode: 'SERVER_UNAVAILABLE', message: expect.any(String) }]);
    expect(sim.deliveries().size).toBe(0);
    expect(sim.stats().apiUsage.used).toBe(0);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).status).toBe(200);
    expect(sim.stats().invokeCalls.byStatus).toEqual({ '200': 1, '503': 1 });
  });

  it('502: an HTML gateway page, nothing runs', async () => {
    const sim = await start({ http502Rate: 1 });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']));
    expect(reply.status).toBe(502);
    expect(reply.headers.get('content-type')).toMatch(/^text\/html/);
    expect(reply.text).toContain('<html>');
    expect(reply.json).toBeUndefined();
    expect(sim.deliveries().size).toBe(0);
  });

  it('429: Retry-After header, nothing runs', async () => {
    const sim = await start({ failNext: { http429: 1 }, retryAfterSeconds: 7 });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']));
    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('7');
    expect(sim.deliveries().size).toBe(0);
  });

  it('reset: the socket is destroyed before anything runs', async () => {
    const sim = await start({ failNext: { reset: 1 } });
    const token = await clientCredentialsToken(sim);
    await expect(invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).rejects.toThrow();
    expect(sim.deliveries().size).toBe(0);
    expect(sim.calls()[0]).toMatchObject({ status: 'reset', succeeded: 0 });
    expect(sim.stats().apiUsage.used).toBe(0);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).status).toBe(200);
  });

  it('hang: the inputs run and count as delivered, the answer is held back', async () => {
    const sim = await start({ failNext: { hang: 1 }, hangMs: 60_000 });
    const token = await clientCredentialsToken(sim);
    await expect(
      invoke(sim, token, 'Welcome_SMS', inputsFor(['a', 'b']), {
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    expect([...sim.deliveries().keys()]).toEqual(['a', 'b']);
    const [call] = sim.calls();
    expect(call).toMatchObject({ status: 'hang', succeeded: 2 });
    await waitFor(() => sim.stats().concurrency.inFlight === 0);
    expect(sim.calls()[0]?.endedAt).not.toBeNull();
    expect(sim.stats().invokeCalls.byStatus).toEqual({ hang: 1 });
    expect(sim.stats().apiUsage.used).toBe(1);
  });

  it('hang: answers late when hangMs is short', async () => {
    const sim = await start({ failNext: { hang: 1 }, hangMs: 150 });
    const token = await clientCredentialsToken(sim);
    const started = Date.now();
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']));
    expect(reply.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('close() does not wait for hanging calls', async () => {
    const sim = await start({ hangAfterProcessingRate: 1 });
    const token = await clientCredentialsToken(sim);
    const pending = invoke(sim, token, 'Welcome_SMS', inputsFor(['a'])).catch(
      (error: unknown) => error,
    );
    await waitFor(() => sim.calls()[0]?.status === 'hang');
    const started = Date.now();
    await sim.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('a client that leaves during the latency still got its inputs delivered (aborted)', async () => {
    const sim = await start({ latency: { kind: 'fixed', ms: 500 } });
    const token = await clientCredentialsToken(sim);
    await expect(
      invoke(sim, token, 'Welcome_SMS', inputsFor(['a']), { signal: AbortSignal.timeout(100) }),
    ).rejects.toThrow();
    await waitFor(() => sim.calls()[0]?.status === 'aborted');
    expect(sim.deliveries().get('a')).toBe(1);
    expect(sim.calls()[0]).toMatchObject({ status: 'aborted', succeeded: 1 });
  });
});

describe('concurrency', () => {
  it('refuses calls above maxConcurrency with the concurrent 403 and records the peak', async () => {
    const sim = await start({ maxConcurrency: 3, latency: { kind: 'fixed', ms: 800 } });
    const token = await clientCredentialsToken(sim);
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => invoke(sim, token, 'Welcome_SMS', inputsFor([`c${i}`]))),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 403, 403]);
    for (const reply of replies.filter((r) => r.status === 403)) {
      expect(reply.text).toBe(fixtureText('error-403-request-limit-exceeded-concurrent.json'));
    }
    const stats = sim.stats();
    expect(stats.refusedForLimits.concurrency).toBe(2);
    // Refused calls are open only briefly, so they overlap the three admitted ones at least.
    expect(stats.concurrency.highest).toBeGreaterThanOrEqual(4);
    expect(stats.concurrency).toMatchObject({ inFlight: 0, limit: 3 });
    expect(stats.apiUsage.used).toBe(3);
    expect(sim.deliveries().size).toBe(3);
    expect(Math.max(...sim.calls().map((c) => c.concurrencyAtStart))).toBe(
      stats.concurrency.highest,
    );
  });

  it('answers the concurrency refusal configured, ConcurrentPerOrgLongTxn by default', async () => {
    const sim = await start({ maxConcurrency: 0 });
    const token = await clientCredentialsToken(sim);
    const refusal = async () => {
      const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['r']));
      expect(reply.status).toBe(403);
      return reply.json;
    };
    expect(await refusal()).toEqual(
      fixtureJson('error-403-request-limit-exceeded-concurrent.json'),
    );
    sim.configure({ concurrencyRefusal: 'ConcurrentRequests' });
    expect(await refusal()).toEqual([
      {
        message: 'ConcurrentRequests (Concurrent API Requests) Limit exceeded',
        errorCode: 'REQUEST_LIMIT_EXCEEDED',
      },
    ]);
    sim.configure({ concurrencyRefusal: 'ConcurrentPerOrgApex' });
    expect(await refusal()).toEqual([
      { message: 'ConcurrentPerOrgApex Limit exceeded', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
    expect(() => sim.configure({ concurrencyRefusal: 'Other' as never })).toThrow(
      /concurrencyRefusal/,
    );
    expect(sim.stats().refusedForLimits.concurrency).toBe(3);
    expect(sim.stats().apiUsage.used).toBe(0);
    expect(sim.deliveries().size).toBe(0);
  });

  it('tracks the peak without a cap', async () => {
    const sim = await start({ latency: { kind: 'fixed', ms: 600 } });
    const token = await clientCredentialsToken(sim);
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => invoke(sim, token, 'Welcome_SMS', inputsFor([`p${i}`]))),
    );
    expect(sim.stats().concurrency).toEqual({ highest: 4, inFlight: 0, limit: null });
    sim.reset();
    await invoke(sim, token, 'Welcome_SMS', inputsFor(['q']));
    expect(sim.stats().concurrency.highest).toBe(1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
