import { isConfigError, loadConfig } from '@flow-dispatcher/shared';
import { describe, expect, it } from 'vitest';
import { BearerTokens, bearerToken, requireIngestAuth } from './bearer-auth.js';

describe('BearerTokens', () => {
  const tokens = new BearerTokens(['first-token-0123456789', 'second-token-0123456789']);

  it('accepts any configured token, with the scheme in any case', () => {
    expect(tokens.accepts('Bearer first-token-0123456789')).toBe(true);
    expect(tokens.accepts('bearer second-token-0123456789')).toBe(true);
    expect(tokens.accepts('BEARER  first-token-0123456789 ')).toBe(true);
  });

  it.each([
    [undefined],
    [''],
    ['Bearer'],
    ['Bearer '],
    ['first-token-0123456789'],
    ['Basic first-token-0123456789'],
    ['Bearer first-token-012345678'],
    ['Bearer first-token-01234567890'],
    ['Bearer FIRST-TOKEN-0123456789'],
    ['Bearer first-token-0123456789 extra'],
  ])('refuses %o', (header) => {
    expect(tokens.accepts(header)).toBe(false);
  });

  it('refuses everything when no token is configured', () => {
    expect(new BearerTokens([]).accepts('Bearer ')).toBe(false);
    expect(new BearerTokens([]).accepts('Bearer anything-at-all-here')).toBe(false);
  });
});

describe('bearerToken', () => {
  it('reads the token of a Bearer header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Token abc')).toBeUndefined();
  });
});

describe('requireIngestAuth', () => {
  it('refuses to start without tokens, naming INGEST_TOKENS', () => {
    try {
      requireIngestAuth(loadConfig({}));
      expect.unreachable();
    } catch (err) {
      expect(isConfigError(err) && err.variable).toBe('INGEST_TOKENS');
    }
  });

  it('starts with tokens, or with INGEST_AUTH=none', () => {
    expect(() =>
      requireIngestAuth(loadConfig({ INGEST_TOKENS: 'a-token-of-16-chars-or-more' })),
    ).not.toThrow();
    expect(() => requireIngestAuth(loadConfig({ INGEST_AUTH: 'none' }))).not.toThrow();
  });
});
