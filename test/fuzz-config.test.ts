import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_VARIABLES, isConfigError, loadConfig } from '@flow-dispatcher/shared';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { recordFigures } from './support/faults.js';

/**
 * Configuration fuzzing: every bad value of every environment variable stops start-up of
 * `flow-dispatcher worker` and `flow-dispatcher ingest` with exit code 2 and one line on stderr
 * that names the variable, and no secret value is ever repeated in that line.
 *
 * Two levels: `loadConfig` in this process for many random bad values of each variable (fast),
 * then the real commands, one process per variable and bad value kind.
 */

// Recognisable secrets in the base environment: none may ever appear in an error.
const SECRETS = {
  clientSecret: 'sekretClientValue-4401',
  ingestToken: 'sekretIngestToken-7782-abcdef',
  adminToken: 'sekretAdminToken-9911-abcdef',
  redisPassword: 'sekretRedisPass5523',
  accessToken: '00Dsekret!AccessTokenValue-6634',
};

const dir = mkdtempSync(join(tmpdir(), 'fd-fuzz-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A complete, valid environment (Redis at an unused port: nothing is reached before the check). */
function baseEnv(): Record<string, string> {
  return {
    REDIS_URL: `redis://:${SECRETS.redisPassword}@127.0.0.1:1`,
    QUEUE_PREFIX: 'fuzzcfg',
    SF_LOGIN_URL: 'http://127.0.0.1:9',
    SF_CLIENT_ID: 'client-id',
    SF_CLIENT_SECRET: SECRETS.clientSecret,
    INGEST_TOKENS: SECRETS.ingestToken,
    ADMIN_TOKENS: SECRETS.adminToken,
    INGEST_PORT: '0',
    METRICS_PORT: '0',
  };
}

// Values no integer variable accepts: not a whole number, or beyond every range.
const badInteger = fc.oneof(
  fc.constantFrom(
    '-1',
    '1.5',
    '1e3',
    '0x10',
    '12 34',
    'NaN',
    'Infinity',
    '99999999999999999999',
    '٣',
  ),
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^\s*\d*\s*$/.test(s)),
);
const badOnOff = fc.oneof(
  fc.constantFrom('yes', 'no', 'true', 'false', '1', '0', 'ON', 'Off', 'enabled'),
  fc
    .string({ minLength: 1, maxLength: 8 })
    .filter((s) => !['on', 'off'].includes(s.trim()) && s.trim() !== ''),
);
const badUrl = fc.constantFrom(
  'not a url',
  'http://example.com',
  'http://10.0.0.1:8080',
  'https://user:pw@x.my.salesforce.com',
  'https://x.my.salesforce.com/path?x=1',
  'https://x.my.salesforce.com#frag',
  'ftp://x.my.salesforce.com',
  'javascript:alert(1)',
  '//x.my.salesforce.com',
);
const badTokens = fc.constantFrom(
  'leakyTok',
  'leaky token with spaces 12345',
  'leakyTokenLongEnough-1,,leakyTokenLongEnough-2',
  'leakyTokenLongEnough-1,leak',
  ',',
  'leakyTokén-not-ascii-123456',
);

interface VariableCase {
  name: string;
  bad: fc.Arbitrary<string>;
  /** The error may name one of these instead (a variable that must come with it). */
  names?: string[];
  /** Extra variables that make this one matter. */
  with?: Record<string, string>;
  /** Variables to remove from the base environment. */
  without?: string[];
  /** Its value is secret: it must never be echoed. */
  secret?: boolean;
}

const integerVariables = [
  'QUEUE_PARTITIONS',
  'SF_MAX_INPUTS_PER_CALL',
  'SF_MAX_CONCURRENCY',
  'SF_REQUEST_TIMEOUT_MS',
  'SF_CONNECT_TIMEOUT_MS',
  'SF_DESCRIBE_TTL_MS',
  'SF_BUDGET_PROBE_MS',
  'CIRCUIT_PROBE_MS',
  'DISPATCH_LINGER_MS',
  'DISPATCH_MAX_ATTEMPTS',
  'DISPATCH_MAX_AGE_MS',
  'DISPATCH_RETRY_BASE_MS',
  'DISPATCH_RETRY_MAX_MS',
  'WORKER_MAX_BUFFERED_TRIGGERS',
  'WORKER_MAX_BUFFERED_BYTES',
  'WORKER_LOCK_DURATION_MS',
  'WORKER_STALLED_INTERVAL_MS',
  'RESULT_TTL_MS',
  'IDEMPOTENCY_WINDOW_MS',
  'PRODUCER_CHUNK_SIZE',
  'INGEST_PORT',
  'INGEST_LINGER_MS',
  'INGEST_MAX_CHUNK',
  'INGEST_MAX_BODY_BYTES',
  'INGEST_MAX_TRIGGERS_PER_REQUEST',
  'INGEST_MAX_BACKLOG',
  'INGEST_WRITE_TIMEOUT_MS',
  'METRICS_PORT',
  'OUTCOME_EVENTS_MAXLEN',
  'OUTCOME_EVENTS_MAX_AGE_MS',
];

const cases: VariableCase[] = [
  ...integerVariables.map((name) => ({ name, bad: badInteger })),
  ...['INGEST_GROUP_COMMIT', 'ADMIN_UI', 'ADMIN_UI_WRITE', 'SF_ALLOW_HTTP'].map((name) => ({
    name,
    bad: badOnOff,
  })),
  {
    name: 'SF_DAILY_API_SHARE',
    bad: fc.constantFrom('0', '1.5', '-0.1', '50%', 'half', '2', '.', '1e-1'),
  },
  { name: 'SF_LOGIN_URL', bad: badUrl },
  {
    name: 'SF_INSTANCE_URL',
    bad: badUrl,
    with: { SF_ACCESS_TOKEN: SECRETS.accessToken },
    without: ['SF_LOGIN_URL', 'SF_CLIENT_ID', 'SF_CLIENT_SECRET'],
  },
  {
    name: 'SF_JWT_AUDIENCE',
    bad: badUrl,
    with: { SF_USERNAME: 'integration@example.com', SF_PRIVATE_KEY_FILE: join(dir, 'key.pem') },
    without: ['SF_CLIENT_SECRET'],
  },
  {
    name: 'REDIS_URL',
    bad: fc.constantFrom(
      'not a url',
      'http://127.0.0.1:6379',
      `redis://:${SECRETS.redisPassword}@127.0.0.1:99999`,
      `redis://:${SECRETS.redisPassword}%zz@127.0.0.1:6379`,
      `redis://:${SECRETS.redisPassword}@/nohost`,
      `rediss://:${SECRETS.redisPassword}@127.0.0.1:6379/not-a-db`,
      'redis://',
    ),
    // Its secret part is the password, one of SECRETS.
  },
  {
    name: 'QUEUE_PREFIX',
    bad: fc.oneof(
      fc.constantFrom('has space', 'a:b', '{fd}', 'x'.repeat(40), 'é'),
      fc.stringMatching(/^[^A-Za-z0-9_-]{1,5}$/).filter((s) => s.trim() !== ''),
    ),
  },
  { name: 'SF_API_VERSION', bad: fc.constantFrom('65', 'v65.0', '65.1', 'latest', '6.0', '650.0') },
  {
    name: 'LOG_LEVEL',
    bad: fc.constantFrom('verbose', 'INFO', 'warning', 'all', '10'),
  },
  {
    name: 'LOG_REDACT_INPUTS',
    bad: fc.constantFrom('a,,b', 'bad-name', '1abc', 'ok,__proto__ x', ','),
  },
  { name: 'INGEST_TOKENS', bad: badTokens, secret: true },
  { name: 'ADMIN_TOKENS', bad: badTokens, secret: true },
  { name: 'INGEST_AUTH', bad: fc.constantFrom('basic', 'off', 'None', 'token') },
  { name: 'OUTCOME_EVENTS', bad: fc.constantFrom('on', 'none', 'Settled', 'dead', 'all,off') },
  { name: 'WORKER_PARTITIONS', bad: fc.constantFrom('1', 'a', '0,0', '0,', '-1', '0;1') },
  // Half of a pair: the error names the missing half.
  {
    name: 'SF_CLIENT_SECRET',
    bad: fc.constant(SECRETS.clientSecret),
    without: ['SF_CLIENT_ID'],
    names: ['SF_CLIENT_ID'],
    secret: true,
  },
  {
    name: 'SF_ACCESS_TOKEN',
    bad: fc.constant(SECRETS.accessToken),
    without: ['SF_LOGIN_URL', 'SF_CLIENT_ID', 'SF_CLIENT_SECRET'],
    names: ['SF_INSTANCE_URL'],
    secret: true,
  },
  {
    name: 'SF_USERNAME',
    bad: fc.constant('integration@example.com'),
    names: ['SF_PRIVATE_KEY_FILE'],
  },
  {
    name: 'SF_PRIVATE_KEY_FILE',
    bad: fc.constant(join(dir, 'no-such-key.pem')),
    with: { SF_USERNAME: 'integration@example.com' },
    without: ['SF_CLIENT_SECRET'],
  },
];

function envFor(c: VariableCase, value: string): Record<string, string> {
  const env = { ...baseEnv(), ...c.with, [c.name]: value };
  for (const name of c.without ?? []) delete env[name];
  return env;
}

/** The secrets of an environment: the fixed ones, and the bad value of a secret variable. */
function secretsIn(c: VariableCase, value: string): string[] {
  const secrets = Object.values(SECRETS);
  if (c.secret) secrets.push(...value.split(',').filter((part) => part.trim().length >= 4));
  return secrets;
}

function checkMessage(c: VariableCase, value: string, message: string): void {
  const named = [c.name, ...(c.names ?? [])];
  expect(message.trim().split('\n'), message).toHaveLength(1);
  expect(
    named.some((name) => message.includes(name)),
    `${c.name}=${JSON.stringify(value)} → ${message}`,
  ).toBe(true);
  for (const secret of secretsIn(c, value)) {
    expect(message, `${c.name}: the message repeats a secret`).not.toContain(secret);
  }
}

/** Runs a command to its exit (or kills it after `timeoutMs`: it started when it should not). */
function run(args: string[], env: Record<string, string>, timeoutMs = 15_000) {
  return runCli(args, env, timeoutMs);
}

/**
 * Variables no value of which is wrong on its own: any consumer key will do until Salesforce says.
 */
const ACCEPT_ANY_VALUE = ['SF_CLIENT_ID'];

describe('fuzz: configuration', () => {
  it('has a case for every variable of the configuration table', () => {
    const fuzzed = new Set(cases.map((c) => c.name));
    expect(
      Object.keys(CONFIG_VARIABLES).filter(
        (name) => !fuzzed.has(name) && !ACCEPT_ANY_VALUE.includes(name),
      ),
    ).toEqual([]);
  });

  it('loadConfig refuses every bad value with an error naming the variable, secrets unrepeated', () => {
    writeFileSync(join(dir, 'key.pem'), 'not really a key');
    let checked = 0;
    for (const c of cases) {
      fc.assert(
        fc.property(c.bad, (value) => {
          let error: unknown;
          try {
            const config = loadConfig(envFor(c, value));
            // A key file is only read once the value is used: not by loadConfig.
            if (c.name === 'SF_PRIVATE_KEY_FILE') return;
            expect.fail(
              `${c.name}=${JSON.stringify(value)} was accepted: ${JSON.stringify(config.redis)}`,
            );
          } catch (err) {
            error = err;
          }
          expect(isConfigError(error), String(error)).toBe(true);
          checkMessage(c, value, (error as Error).message);
          checked++;
        }),
        { numRuns: 60 },
      );
    }
    recordFigures('fuzz-config-loadConfig', { variables: cases.length, badValuesChecked: checked });
  });

  it('worker and ingest stop with exit 2 and one line naming the variable', async () => {
    // One process per variable, worker and ingest in turn, four at a time.
    const runs = cases.map((c, i) => ({
      c,
      command: i % 2 === 0 ? 'worker' : 'ingest',
      value: fc.sample(c.bad, { numRuns: 1, seed: 20_260 + i })[0] as string,
    }));
    const failures: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < runs.length) {
        const { c, command, value } = runs[next++] as (typeof runs)[number];
        const result = await run([command], envFor(c, value));
        const line = `${command} ${c.name}=${JSON.stringify(value)} → exit ${result.code}${result.timedOut ? ' (it started)' : ''}: ${result.stderr.trim()}`;
        try {
          expect(result.timedOut).toBe(false);
          expect(result.code).toBe(2);
          expect(result.stdout).toBe('');
          checkMessage(c, value, result.stderr);
        } catch {
          failures.push(line);
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, lane));
    recordFigures('fuzz-config-processes', { processes: runs.length, failures });
    expect(failures).toEqual([]);
  });

  it('SF_LOGIN_URL must be https unless it is a loopback address (process level)', async () => {
    const urls = [
      ['http://example.com', false],
      ['http://192.168.1.10', false],
      ['http://[::2]:8080', false],
      ['https://example.my.salesforce.com', true],
      ['http://127.0.0.1:9', true],
      ['http://localhost:9', true],
      ['http://[::1]:9', true],
    ] as const;
    // An allowed URL passes the check: the worker then starts and waits for Redis (port 1).
    const results = await Promise.all(
      urls.map(([url, allowed]) =>
        run(['worker'], { ...baseEnv(), SF_LOGIN_URL: url }, allowed ? 4_000 : 15_000),
      ),
    );
    urls.forEach(([url, allowed], i) => {
      const result = results[i] as Awaited<ReturnType<typeof run>>;
      if (allowed) {
        expect(result.timedOut, `${url}: ${result.stderr}`).toBe(true);
      } else {
        expect(result.code, `${url}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toMatch(/SF_LOGIN_URL: must be an https:\/\/ URL/);
      }
    });
  });
});
