import { describe, expect, it } from 'vitest';
import {
  applyConfigPatch,
  defaultConfig,
  isApiVersionAccepted,
  parseConfigPatch,
  simulatorDefaults,
} from './simulator-config.js';

describe('simulator config', () => {
  it('defaults are documented values', () => {
    const config = defaultConfig();
    expect(config.maxInputsPerCall).toBe(200);
    expect(config.dailyLimit).toBe(100_000);
    expect(config.maxConcurrency).toBe(Number.POSITIVE_INFINITY);
    expect(config.tokenTtlMs).toBe(7_200_000);
    expect(config.latency).toEqual({ kind: 'fixed', ms: 20 });
    expect(config.transactionCapacity).toBeNull();
    expect(config.refuse).toBeNull();
    expect(config.concurrencyRefusal).toBe('ConcurrentPerOrgLongTxn');
    expect(config.apiBurstsMax).toBe(750);
    expect(Object.keys(config.flows)).toEqual(['Welcome_SMS', 'Order_Confirmation_Email']);
    expect(Object.isFrozen(config.flows.Welcome_SMS)).toBe(true);
    expect(simulatorDefaults.auth.clientId).toBe('sim-client-id');
  });

  it('replaces top-level keys and merges auth', () => {
    const next = applyConfigPatch(
      defaultConfig(),
      parseConfigPatch({
        auth: { clientSecret: 'new' },
        flows: {},
        latency: { kind: 'uniform', minMs: 1, maxMs: 2 },
      }),
    );
    expect(next.auth).toEqual({
      clientId: 'sim-client-id',
      clientSecret: 'new',
      username: 'integration@example.com',
    });
    expect(next.flows).toEqual({});
    expect(next.latency).toEqual({ kind: 'uniform', minMs: 1, maxMs: 2 });
    expect(next.dailyLimit).toBe(100_000);
  });

  it.each([
    [{ dailyLimit: -1 }],
    [{ http503Rate: 1.5 }],
    [{ latency: { kind: 'uniform', minMs: 5, maxMs: 1 } }],
    [{ latency: { kind: 'lognormal', medianMs: 50, p99Ms: 10 } }],
    [{ unknownInputMode: 'loose' }],
    [{ flows: { 'bad name': { inputs: [] } } }],
    [{ auth: { jwtPublicKeyPem: 'not a key' } }],
    [{ somethingElse: true }],
  ])('refuses %j', (patch) => {
    expect(() => parseConfigPatch(patch)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });

  it('accepts null as "no concurrency cap"', () => {
    expect(parseConfigPatch({ maxConcurrency: null }).maxConcurrency).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('accepts API versions by range or list', () => {
    const config = defaultConfig();
    expect(isApiVersionAccepted(config, '65.0')).toBe(true);
    expect(isApiVersionAccepted(config, '65.5')).toBe(false);
    expect(isApiVersionAccepted(config, 'abc')).toBe(false);
    const listed = applyConfigPatch(config, parseConfigPatch({ apiVersions: ['63.0'] }));
    expect(isApiVersionAccepted(listed, '63.0')).toBe(true);
    expect(isApiVersionAccepted(listed, '65.0')).toBe(false);
  });
});
