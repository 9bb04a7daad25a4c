import { afterEach, describe, expect, it } from 'vitest';
import { flowRefusal, orgRefusal } from './request-refusals.js';
import type { RequestRefusal } from './simulator-config.js';
import { SimulatorConfigError } from './simulator-errors.js';
import {
  api,
  clientCredentialsToken,
  closeAll,
  fixtureJson,
  inputsFor,
  invoke,
  type Reply,
  start,
} from './test-support.js';

afterEach(closeAll);

const apiDisabled = [
  {
    message: 'The REST API is not enabled for this Organization.',
    errorCode: 'API_DISABLED_FOR_ORG',
  },
];
const insufficientAccess = [
  { message: 'insufficient access rights on entity', errorCode: 'INSUFFICIENT_ACCESS' },
];
const base = '/services/data/v65.0';

describe('orgRefusal / flowRefusal', () => {
  it('refuse the org, listed flows, or every flow', () => {
    expect(orgRefusal(null)).toBeNull();
    expect(JSON.parse(orgRefusal({ kind: 'api-disabled' }) ?? 'null')).toEqual(apiDisabled);
    expect(orgRefusal({ kind: 'insufficient-access' })).toBeNull();

    expect(flowRefusal({ kind: 'api-disabled' }, 'A')).toBeNull();
    expect(JSON.parse(flowRefusal({ kind: 'insufficient-access' }, 'A') ?? 'null')).toEqual(
      insufficientAccess,
    );
    const listed: RequestRefusal = { kind: 'insufficient-access', flows: ['A'] };
    expect(flowRefusal(listed, 'A')).not.toBeNull();
    expect(flowRefusal(listed, 'B')).toBeNull();
  });
});

describe('API_DISABLED_FOR_ORG', () => {
  it('refuses every /services/data request, charges none, and lifts live', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    sim.configure({ refuse: { kind: 'api-disabled' } });
    const replies: Reply[] = [
      await api(sim, token, `${base}/limits`),
      await api(sim, token, `${base}/actions/custom/flow`),
      await api(sim, token, `${base}/actions/custom/flow/Welcome_SMS`),
      await api(sim, token, `${base}/actions/custom/flow/Nope`),
      await invoke(sim, token, 'Welcome_SMS', inputsFor(['a'])),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(403);
      expect(reply.json).toEqual(apiDisabled);
      expect(reply.headers.get('sforce-limit-info')).toMatch(/^api-usage=0\/100000/);
    }
    // Authentication comes first: a bad token is still told so.
    expect((await api(sim, 'garbage', `${base}/limits`)).status).toBe(401);
    // The token endpoint is not the REST API: it still grants tokens.
    await clientCredentialsToken(sim);
    let stats = sim.stats();
    expect(stats.refusedForAccess).toEqual({ apiDisabled: 5, insufficientAccess: 0 });
    expect(stats.apiUsage.used).toBe(0);
    expect(stats.deliveries.unique).toBe(0);
    expect(sim.calls()).toMatchObject([{ status: 403, inputs: 0 }]);

    sim.configure({ refuse: null });
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).status).toBe(200);
    stats = sim.stats();
    expect(stats.apiUsage.used).toBe(1);
    expect(stats.deliveries.unique).toBe(1);
  });
});

describe('INSUFFICIENT_ACCESS', () => {
  it('refuses invokes and describes of the listed flows, charged, running nothing', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const config = await fetch(`${sim.url}/__sim/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refuse: { kind: 'insufficient-access', flows: ['Welcome_SMS'] } }),
    });
    expect(config.status).toBe(200);

    const refusedInvoke = await invoke(sim, token, 'Welcome_SMS', inputsFor(['a', 'b']));
    expect(refusedInvoke.status).toBe(403);
    expect(refusedInvoke.json).toEqual(insufficientAccess);
    const refusedDescribe = await api(sim, token, `${base}/actions/custom/flow/Welcome_SMS`);
    expect(refusedDescribe.status).toBe(403);
    expect(refusedDescribe.json).toEqual(insufficientAccess);
    const head = await api(sim, token, `${base}/actions/custom/flow/Welcome_SMS`, {
      method: 'HEAD',
    });
    expect(head.status).toBe(403);

    // Other flows, the list, /limits and unknown flows answer as usual.
    expect((await invoke(sim, token, 'Order_Confirmation_Email', inputsFor(['c']))).status).toBe(
      200,
    );
    expect(
      (await api(sim, token, `${base}/actions/custom/flow/Order_Confirmation_Email`)).status,
    ).toBe(200);
    const list = await api(sim, token, `${base}/actions/custom/flow`);
    expect((list.json as { actions: { name: string }[] }).actions.map((a) => a.name)).toEqual([
      'Welcome_SMS',
      'Order_Confirmation_Email',
    ]);
    expect((await api(sim, token, `${base}/limits`)).status).toBe(200);
    const missing = await invoke(sim, token, 'Nope', inputsFor(['d']));
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual(fixtureJson('error-404-flow-not-found.json'));

    const stats = sim.stats();
    expect(stats.refusedForAccess).toEqual({ apiDisabled: 0, insufficientAccess: 3 });
    expect([...sim.deliveries().keys()]).toEqual(['c']);
    // Every request counted: 3 refused + invoke + describe + list + limits + the 404.
    expect(stats.apiUsage.used).toBe(8);
    expect(sim.calls()[0]).toMatchObject({ flow: 'Welcome_SMS', status: 403, succeeded: 0 });
  });

  it('refuses every flow when none is listed, and yields to a spent allocation', async () => {
    const sim = await start({ refuse: { kind: 'insufficient-access' }, dailyLimit: 2 });
    const token = await clientCredentialsToken(sim);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']))).json).toEqual(
      insufficientAccess,
    );
    expect((await invoke(sim, token, 'Order_Confirmation_Email', inputsFor(['b']))).json).toEqual(
      insufficientAccess,
    );
    const spent = await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']));
    expect(spent.status).toBe(403);
    expect(spent.json).toEqual(fixtureJson('error-403-request-limit-exceeded-daily.json'));
    expect(sim.deliveries().size).toBe(0);
  });

  it('refuses a malformed refuse setting', async () => {
    const sim = await start();
    for (const refuse of [
      { kind: 'nope' },
      { kind: 'api-disabled', flows: ['A'] },
      { kind: 'insufficient-access', flows: ['bad name'] },
    ]) {
      expect(() => sim.configure({ refuse } as never)).toThrow(SimulatorConfigError);
    }
  });
});
