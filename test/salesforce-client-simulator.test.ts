import {
  ClientCredentialsTokenMinter,
  type InvokeOutcome,
  SalesforceClient,
  SingleFlightTokenSource,
} from '@flow-dispatcher/salesforce';
import { defaults } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';

/**
 * The shared Salesforce client against the simulator answering as a real org does (the simulator
 * README's "What a real org does"): each answer must come out as the verdict the worker relies on.
 */
describe('Salesforce client against a realistic org', () => {
  let sim: Simulator;
  let client: SalesforceClient;

  async function start(options: Parameters<typeof startSimulator>[0] = {}): Promise<void> {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 0 }, ...options });
    client = new SalesforceClient({
      tokens: new SingleFlightTokenSource(
        new ClientCredentialsTokenMinter({
          loginUrl: sim.url,
          clientId: 'sim-client-id',
          clientSecret: 'sim-client-secret',
          timeoutMs: 10_000,
        }),
      ),
      apiVersion: defaults.apiVersion,
      requestTimeoutMs: 10_000,
      connectTimeoutMs: 2_000,
      maxResponseBytes: defaults.maxResponseBytes,
      connections: defaults.maxConcurrency,
      describeTtlMs: 60_000,
    });
  }

  afterEach(async () => {
    await client?.close();
    await sim?.close();
  });

  const invoke = (flow: string, ids: string[]): Promise<InvokeOutcome> =>
    client.invokeFlow(
      flow,
      ids.map((IndividualId) => ({ IndividualId })),
    );

  it('reads a 403 TotalRequests on /limits as daily-limit until the rolling usage falls', async () => {
    await start({ dailyLimit: 2, dailyWindowMs: 2_000 });
    expect((await invoke('Welcome_SMS', ['a'])).verdict.kind).toBe('results');
    await client.getLimits();
    await expect(client.getLimits()).rejects.toMatchObject({
      name: 'SalesforceRequestError',
      code: 'daily-limit',
      status: 403,
    });
    expect((await invoke('Welcome_SMS', ['b'])).verdict.kind).toBe('daily-limit');
    expect(sim.stats().requests.limits.byStatus).toEqual({ '200': 1, '403': 1 });

    await waitFor(() => sim.stats().apiUsage.used === 0, { message: 'usage rolled off' });
    await expect(client.getLimits()).resolves.toEqual({
      dailyApiRequests: { max: 2, remaining: 1 },
    });
  });

  it('reads API_DISABLED_FOR_ORG as refused for the whole org, on invokes, describes and /limits', async () => {
    await start({ refuse: { kind: 'api-disabled' } });
    const outcome = await invoke('Welcome_SMS', ['a']);
    expect(outcome.verdict).toEqual({
      kind: 'refused',
      status: 403,
      errorCode: 'API_DISABLED_FOR_ORG',
      message: 'API_DISABLED_FOR_ORG: The REST API is not enabled for this Organization.',
      scope: 'org',
    });
    for (const request of [() => client.describeFlow('Welcome_SMS'), () => client.getLimits()]) {
      await expect(request()).rejects.toMatchObject({
        code: 'refused',
        verdict: { scope: 'org' },
      });
    }
    sim.configure({ refuse: null });
    expect((await invoke('Welcome_SMS', ['a'])).verdict.kind).toBe('results');
    expect(sim.stats().deliveries.unique).toBe(1);
  });

  it('reads INSUFFICIENT_ACCESS as refused for the flow, and leaves other flows alone', async () => {
    await start({ refuse: { kind: 'insufficient-access', flows: ['Welcome_SMS'] } });
    expect((await invoke('Welcome_SMS', ['a'])).verdict).toMatchObject({
      kind: 'refused',
      status: 403,
      errorCode: 'INSUFFICIENT_ACCESS',
      scope: 'flow',
    });
    await expect(client.describeFlow('Welcome_SMS')).rejects.toMatchObject({
      code: 'refused',
      verdict: { errorCode: 'INSUFFICIENT_ACCESS', scope: 'flow' },
    });
    expect((await invoke('Order_Confirmation_Email', ['b'])).verdict).toMatchObject({
      kind: 'results',
      status: 200,
    });
    expect([...sim.deliveries().keys()]).toEqual(['b']);
  });

  it('reads each of the three concurrency refusals as concurrency-limit', async () => {
    await start({ maxConcurrency: 0 });
    for (const refusal of [
      'ConcurrentPerOrgLongTxn',
      'ConcurrentRequests',
      'ConcurrentPerOrgApex',
    ] as const) {
      sim.configure({ concurrencyRefusal: refusal });
      const outcome = await invoke('Welcome_SMS', ['a']);
      expect(outcome.verdict.kind).toBe('concurrency-limit');
      expect(outcome.verdict).toHaveProperty('message', expect.stringContaining(refusal));
    }
  });

  it('sees a rolled-back call as per-input results, every one the generic flow fault', async () => {
    await start({ transactionCapacity: 2 });
    const outcome = await invoke('Welcome_SMS', ['a', 'b', 'c']);
    expect(outcome.status).toBe(400);
    expect(outcome.verdict.kind).toBe('results');
    const inputs = outcome.verdict.kind === 'results' ? outcome.verdict.inputs : [];
    expect(inputs).toHaveLength(3);
    for (const input of inputs) {
      expect(input).toMatchObject({
        error: {
          statusCode: 'UNKNOWN_EXCEPTION',
          message: 'An error occurred when executing a flow interview.',
        },
      });
    }
    expect(sim.stats().deliveries.unique).toBe(0);
  });

  it('parses api-usage beside api-bursts, and its describe cache shows in the request counts', async () => {
    await start();
    const outcome = await invoke('Welcome_SMS', ['a']);
    expect(outcome.limitInfo).toEqual({ apiUsage: { used: 1, max: 100_000 } });
    await Promise.all([1, 2, 3].map(() => client.describeFlow('Welcome_SMS')));
    const { requests } = sim.stats();
    expect(requests.describe.total).toBe(1);
    expect(requests.token.total).toBe(1);
    expect(requests.invoke.total).toBe(1);
    expect(sim.requests({ kind: 'describe' })).toMatchObject([
      { flow: 'Welcome_SMS', method: 'GET', status: 200 },
    ]);
  });
});
