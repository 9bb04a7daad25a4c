import { type FlowDescribe, SalesforceRequestError } from '@flow-dispatcher/salesforce';
import { createLogger, defaults } from '@flow-dispatcher/shared';
import { describe, expect, it } from 'vitest';
import { DescribeCache, type DescribeCacheOptions, type FlowDescriber } from './describe-cache.js';

const logger = createLogger({ level: 'silent' });

/** Ingest's options (see ingest-server.ts), with what the test sets. */
const options = (set: Partial<DescribeCacheOptions> & { ttlMs: number }): DescribeCacheOptions => ({
  missingTtlMs: defaults.ingestMissingFlowTtlMs,
  holdMs: defaults.ingestDescribeHoldMs,
  retryMs: defaults.ingestDescribeRetryMs,
  maxFlows: defaults.ingestDescribeMaxFlows,
  maxFetches: defaults.ingestDescribeFetches,
  fetchTimeoutMs: defaults.ingestDescribeFetchTimeoutMs,
  logger,
  ...set,
});
const describeOf = (name: string): FlowDescribe => ({
  name,
  label: null,
  type: 'FLOW',
  inputs: [
    {
      name: 'IndividualId',
      type: 'STRING',
      required: true,
      maxOccurs: 1,
      description: null,
      label: null,
    },
  ],
  outputs: [],
});

/** A describer whose answers the test releases one by one. */
function manualDescriber() {
  const calls: { flow: string; answer: (outcome: FlowDescribe | Error) => void }[] = [];
  const describer: FlowDescriber = {
    describeFlow: (flow) =>
      new Promise((resolve, reject) => {
        calls.push({
          flow,
          answer: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
        });
      }),
  };
  return { describer, calls };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('DescribeCache', () => {
  it('never waits: unchecked until the first describe arrives, then ready', async () => {
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(describer, options({ ttlMs: 60_000 }));
    expect(cache.lookup('Welcome_SMS')).toEqual({ kind: 'unchecked', reason: 'not_cached' });
    expect(cache.lookup('Welcome_SMS')).toEqual({ kind: 'unchecked', reason: 'not_cached' });
    expect(calls).toHaveLength(1);
    calls[0]?.answer(describeOf('Welcome_SMS'));
    await tick();
    expect(cache.lookup('Welcome_SMS')).toMatchObject({ kind: 'ready' });
    expect(calls).toHaveLength(1);
  });

  it('refreshes in the background once stale, serving the old describe meanwhile', async () => {
    let now = 0;
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(describer, options({ ttlMs: 10_000, clock: () => now }));
    cache.lookup('F');
    calls[0]?.answer(describeOf('F'));
    await tick();
    now = 10_001;
    expect(cache.lookup('F')).toMatchObject({ kind: 'ready' });
    expect(calls).toHaveLength(2);
    calls[1]?.answer(new Error('Salesforce down'));
    await tick();
    expect(cache.lookup('F')).toMatchObject({ kind: 'ready' }); // stale beats nothing
  });

  it('remembers a missing flow, and says when Salesforce cannot be asked', async () => {
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(describer, options({ ttlMs: 60_000 }));
    cache.lookup('Gone');
    cache.lookup('Down');
    calls[0]?.answer(new SalesforceRequestError({ kind: 'flow-missing', message: 'NOT_FOUND' }));
    calls[1]?.answer(new Error('connect ECONNREFUSED'));
    await tick();
    expect(cache.lookup('Gone')).toEqual({ kind: 'missing' });
    expect(cache.lookup('Down')).toEqual({ kind: 'unchecked', reason: 'salesforce_unavailable' });
    expect(calls).toHaveLength(2); // a failed flow is not asked again before retryMs
  });

  it('skips checks without Salesforce, or when the describe lists no inputs', async () => {
    expect(new DescribeCache(undefined, options({ ttlMs: 1 })).lookup('F')).toEqual({
      kind: 'unchecked',
      reason: 'no_salesforce',
    });
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(describer, options({ ttlMs: 60_000 }));
    cache.lookup('F');
    calls[0]?.answer({ ...describeOf('F'), inputs: [] });
    await tick();
    expect(cache.lookup('F')).toEqual({ kind: 'unchecked', reason: 'describe_empty' });
  });

  it('fetch waits for the describe and maps failures to 404 and 503', async () => {
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(describer, options({ ttlMs: 60_000 }));
    const fetched = cache.fetch('F');
    calls[0]?.answer(describeOf('F'));
    await expect(fetched).resolves.toMatchObject({ name: 'F' });
    const gone = cache.fetch('Gone');
    calls[1]?.answer(new SalesforceRequestError({ kind: 'flow-missing', message: 'x' }));
    await expect(gone).rejects.toMatchObject({ status: 404, code: 'FLOW_NOT_FOUND' });
    const down = cache.fetch('Down');
    calls[2]?.answer(new Error('down'));
    await expect(down).rejects.toMatchObject({ status: 503, code: 'SALESFORCE_UNAVAILABLE' });
    await expect(
      new DescribeCache(undefined, options({ ttlMs: 1 })).fetch('F'),
    ).rejects.toMatchObject({
      status: 503,
    });
  });

  it('lookupHeld waits for the first describe: one fetch for every caller, then ready or missing', async () => {
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(describer, options({ ttlMs: 60_000, holdMs: 60_000 }));
    const held = Array.from({ length: 50 }, () => cache.lookupHeld('Welcome_SMS'));
    const gone = [cache.lookupHeld('Made_Up'), cache.lookupHeld('Made_Up')];
    await tick();
    expect(calls.map((c) => c.flow)).toEqual(['Welcome_SMS', 'Made_Up']);
    calls[0]?.answer(describeOf('Welcome_SMS'));
    calls[1]?.answer(new SalesforceRequestError({ kind: 'flow-missing', message: 'NOT_FOUND' }));
    for (const answer of await Promise.all(held)) expect(answer).toMatchObject({ kind: 'ready' });
    expect(await Promise.all(gone)).toEqual([{ kind: 'missing' }, { kind: 'missing' }]);
    expect(await cache.lookupHeld('Made_Up')).toEqual({ kind: 'missing' });
    expect(calls).toHaveLength(2);
  });

  it('lookupHeld gives up after holdMs, and does not wait once Salesforce is known to fail', async () => {
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(describer, options({ ttlMs: 60_000, holdMs: 20 }));
    expect(await cache.lookupHeld('Slow')).toEqual({ kind: 'unchecked', reason: 'not_cached' });
    // The describe still hangs: later requests are not held for it again.
    const again = cache.lookupHeld('Slow');
    const first = await Promise.race([again, new Promise((r) => setImmediate(() => r('held')))]);
    expect(first).toEqual({ kind: 'unchecked', reason: 'not_cached' });
    calls[0]?.answer(new Error('connect ETIMEDOUT'));
    await tick();
    expect(await cache.lookupHeld('Slow')).toEqual({
      kind: 'unchecked',
      reason: 'salesforce_unavailable',
    });
    expect(calls).toHaveLength(1);
    expect(await new DescribeCache(undefined, options({ ttlMs: 1 })).lookupHeld('F')).toEqual({
      kind: 'unchecked',
      reason: 'no_salesforce',
    });
  });

  it('believes a missing flow for missingTtlMs, then waits for the fresh answer', async () => {
    let now = 0;
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(
      describer,
      options({
        ttlMs: 300_000,
        missingTtlMs: 60_000,
        holdMs: 60_000,
        clock: () => now,
      }),
    );
    const first = cache.lookupHeld('Late');
    await tick();
    calls[0]?.answer(new SalesforceRequestError({ kind: 'flow-missing', message: 'NOT_FOUND' }));
    expect(await first).toEqual({ kind: 'missing' });
    now = 59_999;
    expect(await cache.lookupHeld('Late')).toEqual({ kind: 'missing' });
    expect(calls).toHaveLength(1);
    now = 60_000; // the flow was activated meanwhile: the first request after the TTL sees it
    const fresh = cache.lookupHeld('Late');
    await tick();
    expect(calls).toHaveLength(2);
    calls[1]?.answer(describeOf('Late'));
    expect(await fresh).toMatchObject({ kind: 'ready' });
  });

  it('lookupHeld queues for a fetch slot: no more than maxFetches describes at once', async () => {
    const { describer, calls } = manualDescriber();
    const cache = new DescribeCache(
      describer,
      options({
        ttlMs: 60_000,
        holdMs: 60_000,
        maxFetches: 1,
      }),
    );
    const a = cache.lookupHeld('A');
    const b = cache.lookupHeld('B');
    await tick();
    expect(calls.map((c) => c.flow)).toEqual(['A']);
    calls[0]?.answer(describeOf('A'));
    expect(await a).toMatchObject({ kind: 'ready' });
    await tick();
    expect(calls.map((c) => c.flow)).toEqual(['A', 'B']);
    calls[1]?.answer(new SalesforceRequestError({ kind: 'flow-missing', message: 'NOT_FOUND' }));
    expect(await b).toEqual({ kind: 'missing' });
  });
});
