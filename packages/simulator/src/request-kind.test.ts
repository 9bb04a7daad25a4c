import { afterEach, describe, expect, it } from 'vitest';
import { parseDataPath, type RequestKind, requestKind } from './request-kind.js';
import type { RecordedRequest } from './request-log.js';
import type { SimulatorStats } from './simulator-stats.js';
import {
  api,
  clientCredentialsToken,
  closeAll,
  inputsFor,
  invoke,
  start,
  tokenRequest,
} from './test-support.js';

afterEach(closeAll);

const kindOf = (method: string, path: string): RequestKind =>
  requestKind(method, path, path.startsWith('/services/data/') ? parseDataPath(path) : null);

describe('requestKind', () => {
  it.each([
    ['POST', '/services/oauth2/token', 'token'],
    ['GET', '/services/oauth2/token', 'token'],
    ['POST', '/services/data/v65.0/actions/custom/flow/Welcome_SMS', 'invoke'],
    ['GET', '/services/data/v65.0/actions/custom/flow/Welcome_SMS/', 'describe'],
    ['HEAD', '/services/data/v65.0/actions/custom/flow/Welcome_SMS', 'describe'],
    ['DELETE', '/services/data/v65.0/actions/custom/flow/Welcome_SMS', 'other'],
    ['GET', '/services/data/v65.0/actions/custom/flow', 'list'],
    ['GET', '/services/data/v65.0/limits', 'limits'],
    ['POST', '/services/data/v65.0/limits', 'limits'],
    ['GET', '/services/data/v65.0/sobjects', 'other'],
    ['GET', '/elsewhere', 'other'],
  ] as const)('%s %s → %s', (method, path, expected) => {
    expect(kindOf(method, path)).toBe(expected);
  });

  it('decodes the flow name and drops a trailing slash', () => {
    expect(parseDataPath('/services/data/v65.0/actions/custom/flow/My%5FFlow/')).toEqual({
      version: '65.0',
      rest: ['actions', 'custom', 'flow', 'My%5FFlow'],
      flowPath: true,
      flowName: 'My_Flow',
    });
  });
});

describe('requests by kind', () => {
  it('counts and records every request, refused ones included, and forgets them on reset()', async () => {
    const sim = await start({ dailyLimit: 5 });
    const token = await clientCredentialsToken(sim);
    await tokenRequest(sim.url, { grant_type: 'client_credentials', client_id: 'nope' });
    await api(sim, token, '/services/data/v65.0/actions/custom/flow/Welcome_SMS');
    await api(sim, token, '/services/data/v65.0/actions/custom/flow/Nope');
    await api(sim, null, '/services/data/v65.0/actions/custom/flow/Welcome_SMS');
    await api(sim, token, '/services/data/v65.0/actions/custom/flow');
    await api(sim, token, '/services/data/v65.0/limits');
    await invoke(sim, token, 'Welcome_SMS', inputsFor(['a']));
    await invoke(sim, token, 'Welcome_SMS', inputsFor(['b'])); // over the allocation: 403
    await api(sim, token, '/nowhere');

    const stats = sim.stats();
    expect(stats.requests).toEqual({
      invoke: { total: 2, byStatus: { '200': 1, '403': 1 } },
      describe: { total: 3, byStatus: { '200': 1, '401': 1, '404': 1 } },
      list: { total: 1, byStatus: { '200': 1 } },
      limits: { total: 1, byStatus: { '200': 1 } },
      token: { total: 2, byStatus: { '200': 1, '400': 1 } },
      other: { total: 1, byStatus: { '404': 1 } },
    } satisfies SimulatorStats['requests']);
    // Admin requests are not Salesforce requests: reading stats counted nothing.
    expect(sim.stats().requests).toEqual(stats.requests);

    const all = sim.requests();
    expect(all.map((r) => [r.seq, r.kind, r.flow, r.status])).toEqual([
      [1, 'token', null, 200],
      [2, 'token', null, 400],
      [3, 'describe', 'Welcome_SMS', 200],
      [4, 'describe', 'Nope', 404],
      [5, 'describe', 'Welcome_SMS', 401],
      [6, 'list', null, 200],
      [7, 'limits', null, 200],
      [8, 'invoke', 'Welcome_SMS', 200],
      [9, 'invoke', 'Welcome_SMS', 403],
      [10, 'other', null, 404],
    ]);
    expect(sim.requests({ since: 7, kind: 'invoke' }).map((r) => r.seq)).toEqual([8, 9]);

    const admin = await fetch(`${sim.url}/__sim/requests?since=3&kind=describe`);
    expect(((await admin.json()) as RecordedRequest[]).map((r) => r.flow)).toEqual([
      'Nope',
      'Welcome_SMS',
    ]);
    const badKind = await fetch(`${sim.url}/__sim/requests?kind=soap`);
    expect(badKind.status).toBe(400);
    expect(await badKind.json()).toMatchObject({ error: { code: 'INVALID_KIND' } });

    sim.reset();
    expect(sim.requests()).toEqual([]);
    expect(sim.stats().requests.describe).toEqual({ total: 0, byStatus: {} });
    await api(sim, token, '/services/data/v65.0/limits');
    expect(sim.requests().map((r) => r.seq)).toEqual([11]);
  });

  it('keeps only the newest maxRecordedCalls requests', async () => {
    const sim = await start({ maxRecordedCalls: 2 });
    const token = await clientCredentialsToken(sim);
    for (let i = 0; i < 3; i++) await api(sim, token, '/services/data/v65.0/limits');
    expect(sim.requests().map((r) => r.seq)).toEqual([3, 4]);
    expect(sim.stats().requests.limits.total).toBe(3);
  });
});
