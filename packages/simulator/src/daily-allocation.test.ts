import { afterEach, describe, expect, it } from 'vitest';
import { DailyAllocation } from './daily-allocation.js';
import {
  api,
  clientCredentialsToken,
  closeAll,
  fixtureJson,
  fixtureText,
  invoke,
  start,
} from './test-support.js';

afterEach(closeAll);

describe('DailyAllocation', () => {
  it('charges up to the limit and refuses past it', () => {
    const daily = new DailyAllocation(3, 1000);
    expect([
      daily.tryCharge(0),
      daily.tryCharge(1),
      daily.tryCharge(2),
      daily.tryCharge(3),
    ]).toEqual([true, true, true, false]);
    expect(daily.usage(3)).toEqual({ used: 3, max: 3 });
  });

  it('frees usage once it is older than the window, never earlier', () => {
    const daily = new DailyAllocation(2, 1000);
    daily.tryCharge(0);
    daily.tryCharge(500);
    expect(daily.tryCharge(999)).toBe(false);
    expect(daily.usage(1000).used).toBe(2);
    expect(daily.usage(1002).used).toBe(1);
    expect(daily.tryCharge(1002)).toBe(true);
    expect(daily.usage(1600).used).toBe(1);
  });

  it('starts from a given usage and takes back refunded charges', () => {
    const daily = new DailyAllocation(10, 1000);
    daily.restart(9, 0);
    expect(daily.tryCharge(1)).toBe(true);
    expect(daily.tryCharge(2)).toBe(false);
    daily.refund();
    expect(daily.usage(3).used).toBe(9);
    expect(daily.tryCharge(3)).toBe(true);
  });

  it("counts the charges of the latest charge's second as the burst", () => {
    const daily = new DailyAllocation(10, 60_000);
    expect(daily.burst()).toBe(0);
    daily.tryCharge(1_000);
    daily.tryCharge(1_500);
    daily.tryCharge(1_999);
    expect(daily.burst()).toBe(3);
    daily.refund();
    expect(daily.burst()).toBe(2);
    daily.tryCharge(2_000);
    expect(daily.burst()).toBe(1);
    daily.restart(5, 2_000);
    expect(daily.burst()).toBe(0);
  });
});

describe('daily limit over HTTP', () => {
  it('answers the exact fixture 403 once the allocation is spent, with Sforce-Limit-Info', async () => {
    const sim = await start({ dailyLimit: 5, dailyUsed: 2 });
    const token = await clientCredentialsToken(sim);
    const infos: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const reply = await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: `id-${i}` }]);
      expect(reply.status).toBe(200);
      infos.push(reply.headers.get('sforce-limit-info'));
    }
    // api-bursts counts the charges of one second, which a second boundary may restart.
    for (const info of infos) expect(info).toMatch(/^api-usage=\d\/5, api-bursts=[123]\/750$/);
    expect(infos.map((info) => info?.split(',')[0])).toEqual([
      'api-usage=3/5',
      'api-usage=4/5',
      'api-usage=5/5',
    ]);

    const refused = await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'late' }]);
    expect(refused.status).toBe(403);
    expect(refused.text).toBe(fixtureText('error-403-request-limit-exceeded-daily.json'));
    expect(refused.headers.get('sforce-limit-info')).toMatch(/^api-usage=5\/5, /);
    const describe = await api(sim, token, '/services/data/v65.0/actions/custom/flow/Welcome_SMS');
    expect(describe.status).toBe(403);
    expect(describe.json).toEqual(fixtureJson('error-403-request-limit-exceeded-daily.json'));

    expect(sim.deliveries().has('late')).toBe(false);
    const stats = sim.stats();
    expect(stats.apiUsage).toEqual({ used: 5, max: 5 });
    expect(stats.refusedForLimits.daily).toBe(2);
    expect(sim.calls().at(-1)?.status).toBe(403);
  });

  it('frees up as the rolling window moves on', async () => {
    const sim = await start({ dailyLimit: 2, dailyWindowMs: 1000 });
    const token = await clientCredentialsToken(sim);
    expect((await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }])).status).toBe(200);
    expect((await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'b' }])).status).toBe(200);
    expect((await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'c' }])).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const reply = await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'c' }]);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('sforce-limit-info')).toBe('api-usage=1/2, api-bursts=1/750');
  });

  it('refuses every request past the cap, /limits included, until the rolling usage falls', async () => {
    const sim = await start({ dailyLimit: 2, dailyWindowMs: 1000 });
    const token = await clientCredentialsToken(sim);
    await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }]);
    await api(sim, token, '/services/data/v65.0/limits');
    const daily = fixtureJson('error-403-request-limit-exceeded-daily.json');
    for (const path of [
      '/services/data/v65.0/limits',
      '/services/data/v65.0/actions/custom/flow',
      '/services/data/v65.0/actions/custom/flow/Welcome_SMS',
      '/services/data/v65.0/actions/custom/flow/Nope',
    ]) {
      const reply = await api(sim, token, path);
      expect(reply.status).toBe(403);
      expect(reply.json).toEqual(daily);
    }
    const refused = await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'b' }]);
    expect(refused.json).toEqual(daily);
    // Token requests are not API requests: still granted.
    await clientCredentialsToken(sim);
    expect(sim.stats().refusedForLimits.daily).toBe(5);
    expect(sim.stats().apiUsage.used).toBe(2);

    await waitFor(() => sim.stats().apiUsage.used === 0);
    const limits = await api(sim, token, '/services/data/v65.0/limits');
    expect(limits.status).toBe(200);
    expect((limits.json as { DailyApiRequests: unknown }).DailyApiRequests).toEqual({
      Max: 2,
      Remaining: 1,
    });
  });

  it('shows api-bursts beside api-usage, with the configured max, or leaves it out', async () => {
    const sim = await start({ apiBurstsMax: 1000 });
    const token = await clientCredentialsToken(sim);
    const limits = await api(sim, token, '/services/data/v65.0/limits');
    expect(limits.headers.get('sforce-limit-info')).toBe('api-usage=1/100000, api-bursts=1/1000');
    sim.configure({ apiBurstsMax: null });
    const plain = await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }]);
    expect(plain.headers.get('sforce-limit-info')).toBe('api-usage=2/100000');
    expect(() => sim.configure({ apiBurstsMax: 0 })).toThrow(/apiBurstsMax/);
  });

  it('counts every /services/data request but not token requests', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    await api(sim, token, '/services/data/v65.0/limits');
    await api(sim, token, '/services/data/v65.0/actions/custom/flow');
    await api(sim, token, '/services/data/v65.0/actions/custom/flow/Welcome_SMS');
    await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }]);
    await invoke(sim, token, 'Nope', [{ IndividualId: 'a' }]);
    expect(sim.stats().apiUsage.used).toBe(5);
  });

  it('restarts usage from dailyUsed when configured, and on reset()', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    sim.configure({ dailyUsed: 99_999 });
    expect((await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }])).status).toBe(200);
    expect((await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'b' }])).status).toBe(403);
    sim.configure({ dailyUsed: 0 });
    await api(sim, token, '/services/data/v65.0/limits');
    sim.reset();
    expect(sim.stats().apiUsage.used).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
