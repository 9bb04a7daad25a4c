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
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'fd', partitions: 1 });
    expect(config.worker.partitions).toEqual([0]);
    expect(config.salesforce.maxInputsPerCall).toBe(200);
    expect(config.salesforce.apiVersion).toBe('65.0');
    expect(config.salesforce.auth).toBeUndefined();
    expect(Object.isFrozen(config.dispatch)).toBe(true);
    expect(() => requireSalesforceAuth(config)).toThrow(
      /SF_LOGIN_URL: Salesforce credentials are missing/,
    );
  });

  it('reads the ingest tuning variables', () => {
    expect(loadConfig({}).ingest).toMatchObject({
      lingerMs: 2,
      maxChunk: 1_000,
      maxBodyBytes: 5 * 1024 * 1024,
      maxTriggersPerRequest: 1_000,
      maxBacklog: 1_000_000,
      groupCommit: true,
      writeTimeoutMs: 5_000,
    });
    expect(
      loadConfig({
        INGEST_LINGER_MS: '0',
        INGEST_MAX_CHUNK: '200',
        INGEST_MAX_BODY_BYTES: '1048576',
        INGEST_MAX_TRIGGERS_PER_REQUEST: '50',
        INGEST_MAX_BACKLOG: '10',
        INGEST_GROUP_COMMIT: 'off',
        INGEST_WRITE_TIMEOUT_MS: '250',
      }).ingest,
    ).toMatchObject({
      lingerMs: 0,
      maxChunk: 200,
      maxBodyBytes: 1_048_576,
      maxTriggersPerRequest: 50,
      maxBacklog: 10,
      groupCommit: false,
      writeTimeoutMs: 250,
    });
  });

  it('gives ingest a metrics port of its own only when METRICS_PORT is set', () => {
    // Unset: a worker still serves the default, ingest keeps /metrics on its API port.
    expect(loadConfig({}).metrics.port).toBe(9464);
    expect(loadConfig({}).ingest.metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '  ' }).ingest.metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9464' }).ingest.metricsPort).toBe(9464);
    expect(loadConfig({ METRICS_PORT: '0' }).ingest.metricsPort).toBe(0);
  });

  it('needs no client secret for the JWT bearer flow', () => {
    const jwt = {
      SF_LOGIN_URL: 'https://acme.my.salesforce.com',
      SF_CLIENT_ID: 'consumer-key',
      SF_USERNAME: 'integration@acme.example',
      SF_PRIVATE_KEY_FILE: '/etc/flow-dispatcher/salesforce/private-key.pem',
    };
    expect(loadConfig(jwt).salesforce.auth).toEqual({
      kind: 'jwt-bearer',
      loginUrl: 'https://acme.my.salesforce.com',
      clientId: 'consumer-key',
      username: 'integration@acme.example',
      privateKeyFile: '/etc/flow-dispatcher/salesforce/private-key.pem',
      audience: 'https://login.salesforce.com',
    });
    expect(() => loadConfig({ ...jwt, SF_CLIENT_ID: undefined })).toThrow(/SF_CLIENT_ID/);
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
    [{ REDIS_URL: 'redis://a:7000,b:7001/1' }, 'REDIS_URL'],
    [{ REDIS_URL: 'redis+sentinel://s1:26379' }, 'REDIS_URL'],
    [{ QUEUE_PREFIX: 'a:b' }, 'QUEUE_PREFIX'],
    [{ QUEUE_PARTITIONS: '0' }, 'QUEUE_PARTITIONS'],
    [{ QUEUE_PARTITIONS: '129' }, 'QUEUE_PARTITIONS'],
    [{ QUEUE_PARTITIONS: 'three' }, 'QUEUE_PARTITIONS'],
    [{ WORKER_PARTITIONS: '1' }, 'WORKER_PARTITIONS'],
    [{ QUEUE_PARTITIONS: '3', WORKER_PARTITIONS: '0,3' }, 'WORKER_PARTITIONS'],
    [{ QUEUE_PARTITIONS: '3', WORKER_PARTITIONS: '0,,1' }, 'WORKER_PARTITIONS'],
    [{ QUEUE_PARTITIONS: '3', WORKER_PARTITIONS: '1,1' }, 'WORKER_PARTITIONS'],
    [{ QUEUE_PARTITIONS: '3', WORKER_PARTITIONS: '-1' }, 'WORKER_PARTITIONS'],
    [{ SF_API_VERSION: 'v65' }, 'SF_API_VERSION'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ INGEST_PORT: '70000' }, 'INGEST_PORT'],
    [{ METRICS_PORT: 'x' }, 'METRICS_PORT'],
    [{ INGEST_AUTH: 'maybe' }, 'INGEST_AUTH'],
    [{ INGEST_TOKENS: 'short' }, 'INGEST_TOKENS'],
    [{ INGEST_TOKENS: 'a-long-enough-token-1,,' }, 'INGEST_TOKENS'],
    [{ INGEST_LINGER_MS: '-1' }, 'INGEST_LINGER_MS'],
    [{ INGEST_LINGER_MS: '5000' }, 'INGEST_LINGER_MS'],
    [{ INGEST_MAX_CHUNK: '0' }, 'INGEST_MAX_CHUNK'],
    [{ INGEST_MAX_BODY_BYTES: '5MB' }, 'INGEST_MAX_BODY_BYTES'],
    [{ INGEST_MAX_BODY_BYTES: '10' }, 'INGEST_MAX_BODY_BYTES'],
    [{ INGEST_MAX_TRIGGERS_PER_REQUEST: '0' }, 'INGEST_MAX_TRIGGERS_PER_REQUEST'],
    [{ INGEST_MAX_BACKLOG: 'lots' }, 'INGEST_MAX_BACKLOG'],
    [{ INGEST_GROUP_COMMIT: 'yes' }, 'INGEST_GROUP_COMMIT'],
    [{ INGEST_WRITE_TIMEOUT_MS: '10' }, 'INGEST_WRITE_TIMEOUT_MS'],
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

  it('reads the cluster and Sentinel forms of REDIS_URL and the partition settings', () => {
    const cluster = loadConfig({
      REDIS_URL: 'redis://:pw@127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002',
      QUEUE_PARTITIONS: '3',
    });
    expect(cluster.redis).toEqual({
      url: 'redis://:pw@127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002',
      prefix: 'fd',
      partitions: 3,
    });
    expect(cluster.worker.partitions).toEqual([0, 1, 2]);
    expect(
      loadConfig({ QUEUE_PARTITIONS: '4', WORKER_PARTITIONS: ' 2, 0 ' }).worker.partitions,
    ).toEqual([0, 2]);
    expect(loadConfig({ REDIS_URL: 'redis+sentinel://s1:26379,s2:26379/main' }).redis.url).toBe(
      'redis+sentinel://s1:26379,s2:26379/main',
    );
  });

  it('never repeats a secret in its message', () => {
    const { message } = failure({ REDIS_URL: 'redis//:hunter2-password@host' });
    expect(message).not.toContain('hunter2');
    for (const url of [
      'redis://:hunter2-password@a:7000,b:70000',
      'redis+sentinel://:hunter2-password@s1',
      'redis://:hunter2-password@a:1,b:2/9',
    ]) {
      expect(failure({ REDIS_URL: url }).message).not.toContain('hunter2');
    }
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

  it('allows http:// on any host only with SF_ALLOW_HTTP=on (the simulator in Docker)', () => {
    const env = { SF_LOGIN_URL: 'http://simulator:8787', SF_CLIENT_ID: 'i', SF_CLIENT_SECRET: 's' };
    expect(failure(env).variable).toBe('SF_LOGIN_URL');
    expect(failure(env).message).toContain('SF_ALLOW_HTTP=on');
    expect(loadConfig({ ...env, SF_ALLOW_HTTP: 'on' }).salesforce.auth).toMatchObject({
      loginUrl: 'http://simulator:8787',
    });
    expect(failure({ ...env, SF_ALLOW_HTTP: 'off' }).variable).toBe('SF_LOGIN_URL');
    expect(failure({ SF_ALLOW_HTTP: 'yes' }).variable).toBe('SF_ALLOW_HTTP');
  });

  it('reads LOG_REDACT_INPUTS as a list of input names', () => {
    expect(loadConfig({}).log.redactInputs).toEqual([]);
    expect(
      loadConfig({ LOG_REDACT_INPUTS: ' LoyaltyCard , Birth_Date ' }).log.redactInputs,
    ).toEqual(['LoyaltyCard', 'Birth_Date']);
    expect(failure({ LOG_REDACT_INPUTS: 'LoyaltyCard,,' }).variable).toBe('LOG_REDACT_INPUTS');
    expect(failure({ LOG_REDACT_INPUTS: 'Loyalty Card' }).variable).toBe('LOG_REDACT_INPUTS');
    expect(failure({ LOG_REDACT_INPUTS: '1st' }).message).toMatch(/^LOG_REDACT_INPUTS: /);
  });

  it('reads the admin UI variables: off and read-only unless asked', () => {
    expect(loadConfig({}).admin).toEqual({ enabled: false, write: false, tokens: [] });
    expect(
      loadConfig({
        ADMIN_UI: 'on',
        ADMIN_UI_WRITE: 'on',
        ADMIN_TOKENS: 'admin-token-0123456789, admin-token-abcdefghij',
      }).admin,
    ).toEqual({
      enabled: true,
      write: true,
      tokens: ['admin-token-0123456789', 'admin-token-abcdefghij'],
    });
  });

  it.each([
    [{ ADMIN_UI: 'yes' }, 'ADMIN_UI'],
    [{ ADMIN_UI_WRITE: 'true' }, 'ADMIN_UI_WRITE'],
    [{ ADMIN_TOKENS: 'short' }, 'ADMIN_TOKENS'],
    [{ ADMIN_TOKENS: 'admin-token-0123456789,' }, 'ADMIN_TOKENS'],
    [{ ADMIN_TOKENS: 'admin token with spaces' }, 'ADMIN_TOKENS'],
  ])('refuses admin UI setting %j, naming %s', (env, variable) => {
    expect(failure(env).variable).toBe(variable);
    expect(failure(env).message).not.toContain('admin-token-0123456789');
  });
});
