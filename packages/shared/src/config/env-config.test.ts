import { describe, expect, it } from 'vitest';
import { isConfigError } from './config-error.js';
import { loadConfig, requireSalesforceAuth } from './env-config.js';

function failure(env: Record<string, string>): { variable: string; message: string } {
  try {
    loadConfig(env);
  } catch (err) {
    if (isConfigError(err)) return { variable: err.variable, message: err.message };
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has working defaults and freezes the result', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'fd' });
    expect(config.salesforce.maxInputsPerCall).toBe(200);
    expect(config.salesforce.apiVersion).toBe('65.0');
    expect(config.salesforce.auth).toBeUndefined();
    expect(Object.isFrozen(config.dispatch)).toBe(true);
    expect(() => requireSalesforceAuth(config)).toThrow(
      /SF_LOGIN_URL: Salesforce credentials are missing/,
    );
  });

  it('picks the auth flow from the variables present', () => {
    expect(
      loadConfig({
        SF_LOGIN_URL: 'https://acme.my.salesforce.com/',
        SF_CLIENT_ID: 'id',
        SF_CLIENT_SECRET: 'secret',
      }).salesforce.auth,
    ).toEqual({
      kind: 'client-credentials',
      loginUrl: 'https://acme.my.salesforce.com',
      clientId: 'id',
      clientSecret: 'secret',
    });
    expect(
      loadConfig({
        SF_LOGIN_URL: 'https://acme--uat.sandbox.my.salesforce.com',
        SF_CLIENT_ID: 'id',
        SF_USERNAME: 'api@acme.com',
        SF_PRIVATE_KEY_FILE: '/keys/sf.pem',
      }).salesforce.auth,
    ).toMatchObject({ kind: 'jwt-bearer', audience: 'https://test.salesforce.com' });
    expect(
      loadConfig({ SF_INSTANCE_URL: 'http://127.0.0.1:9999', SF_ACCESS_TOKEN: 'tok' }).salesforce
        .auth,
    ).toEqual({ kind: 'static', instanceUrl: 'http://127.0.0.1:9999', accessToken: 'tok' });
  });

  it.each([
    [{ SF_MAX_INPUTS_PER_CALL: 'abc' }, 'SF_MAX_INPUTS_PER_CALL'],
    [{ SF_MAX_INPUTS_PER_CALL: '0' }, 'SF_MAX_INPUTS_PER_CALL'],
    [{ SF_MAX_INPUTS_PER_CALL: '2.5' }, 'SF_MAX_INPUTS_PER_CALL'],
    [{ SF_MAX_CONCURRENCY: '-1' }, 'SF_MAX_CONCURRENCY'],
    [{ SF_DAILY_API_SHARE: '1.5' }, 'SF_DAILY_API_SHARE'],
    [{ SF_DAILY_API_SHARE: '0' }, 'SF_DAILY_API_SHARE'],
    [{ SF_DAILY_API_SHARE: 'half' }, 'SF_DAILY_API_SHARE'],
    [{ DISPATCH_LINGER_MS: '1e3' }, 'DISPATCH_LINGER_MS'],
    [{ REDIS_URL: 'http://localhost:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ QUEUE_PREFIX: 'a:b' }, 'QUEUE_PREFIX'],
    [{ SF_API_VERSION: 'v65' }, 'SF_API_VERSION'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ INGEST_PORT: '70000' }, 'INGEST_PORT'],
    [{ METRICS_PORT: 'x' }, 'METRICS_PORT'],
    [{ INGEST_AUTH: 'maybe' }, 'INGEST_AUTH'],
    [{ INGEST_TOKENS: 'short' }, 'INGEST_TOKENS'],
    [{ INGEST_TOKENS: 'a-long-enough-token-1,,' }, 'INGEST_TOKENS'],
    [
      { SF_LOGIN_URL: 'http://acme.my.salesforce.com', SF_CLIENT_ID: 'i', SF_CLIENT_SECRET: 's' },
      'SF_LOGIN_URL',
    ],
    [{ SF_LOGIN_URL: 'https://acme.my.salesforce.com', SF_CLIENT_ID: 'i' }, 'SF_CLIENT_SECRET'],
    [{ SF_CLIENT_ID: 'i', SF_CLIENT_SECRET: 's' }, 'SF_LOGIN_URL'],
    [
      { SF_USERNAME: 'u', SF_LOGIN_URL: 'https://x.my.salesforce.com', SF_CLIENT_ID: 'i' },
      'SF_PRIVATE_KEY_FILE',
    ],
    [{ SF_ACCESS_TOKEN: 't' }, 'SF_INSTANCE_URL'],
    [{ SF_LOGIN_URL: 'https://x.my.salesforce.com' }, 'SF_CLIENT_ID'],
  ])('%o is refused naming %s', (env, variable) => {
    expect(failure(env).variable).toBe(variable);
    expect(failure(env).message.startsWith(`${variable}: `)).toBe(true);
  });

  it('never repeats a secret in its message', () => {
    const { message } = failure({ REDIS_URL: 'redis//:hunter2-password@host' });
    expect(message).not.toContain('hunter2');
    const tokens = failure({ INGEST_TOKENS: 'sekrit-token-value-1, ' });
    expect(tokens.message).not.toContain('sekrit');
  });

  it('allows http only for loopback Salesforce URLs', () => {
    expect(
      loadConfig({
        SF_LOGIN_URL: 'http://127.0.0.1:8443',
        SF_CLIENT_ID: 'i',
        SF_CLIENT_SECRET: 's',
      }).salesforce.auth,
    ).toMatchObject({ loginUrl: 'http://127.0.0.1:8443' });
    expect(failure({ SF_INSTANCE_URL: 'http://10.0.0.5', SF_ACCESS_TOKEN: 't' }).variable).toBe(
      'SF_INSTANCE_URL',
    );
  });
});
