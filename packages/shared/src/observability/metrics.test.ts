import { describe, expect, it } from 'vitest';
import { packageVersion } from '../package-version.js';
import { buildRevision, createMetrics } from './metrics.js';

const families = async (metrics: ReturnType<typeof createMetrics>) =>
  (await metrics.registry.getMetricsAsJSON())
    .map((m) => m.name)
    .filter((name) => name.startsWith('flow_dispatcher_'))
    .sort();

describe('createMetrics', () => {
  it('registers for ingest only what every process sets: nothing a worker owns', async () => {
    const ingest = createMetrics({ defaultMetrics: false, role: 'ingest' });
    // Set anyway (ingest's fleet limiter does): still not exported.
    ingest.apiBudgetRemaining.set(123);
    ingest.concurrencyLimit.set(4);
    expect(await families(ingest)).toEqual([
      'flow_dispatcher_build_info',
      'flow_dispatcher_ready',
      'flow_dispatcher_token_requests_total',
    ]);
    expect(await ingest.registry.metrics()).not.toContain('api_budget_remaining');
  });

  it('registers every family for a worker, and for a process that is both', async () => {
    const worker = await families(createMetrics({ defaultMetrics: false }));
    expect(worker).toContain('flow_dispatcher_api_budget_remaining');
    expect(worker).toContain('flow_dispatcher_triggers_enqueued_total');
    expect(worker).toContain('flow_dispatcher_ready');
    expect(await families(createMetrics({ defaultMetrics: false, role: 'all' }))).toEqual(worker);
  });

  it('exports build_info = 1 with the version, the revision and Node', async () => {
    const metrics = createMetrics({ defaultMetrics: false, role: 'ingest', revision: 'abc123' });
    const [sample] = (await metrics.buildInfo.get()).values;
    expect(sample).toEqual({
      value: 1,
      labels: { version: packageVersion(), revision: 'abc123', node: process.versions.node },
    });
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('takes the revision from FLOW_DISPATCHER_REVISION when it is a plain, short value', () => {
    expect(buildRevision({ FLOW_DISPATCHER_REVISION: '0f3a9c2' })).toBe('0f3a9c2');
    expect(buildRevision({ FLOW_DISPATCHER_REVISION: ' v1.2.3 ' })).toBe('v1.2.3');
    expect(buildRevision({})).toBe('unknown');
    expect(buildRevision({ FLOW_DISPATCHER_REVISION: 'a b' })).toBe('unknown');
    expect(buildRevision({ FLOW_DISPATCHER_REVISION: 'x'.repeat(65) })).toBe('unknown');
  });

  it('answers ready as the check does, at each collection, by role', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let ready = true;
    metrics.trackReadiness('worker', () => ready);
    metrics.trackReadiness('ingest', async () => {
      throw new Error('redis down');
    });
    const values = async () =>
      Object.fromEntries(
        (await metrics.ready.get()).values.map((v) => [v.labels.role, v.value] as const),
      );
    expect(await values()).toEqual({ worker: 1, ingest: 0 });
    ready = false;
    expect(await values()).toEqual({ worker: 0, ingest: 0 });
  });
});
