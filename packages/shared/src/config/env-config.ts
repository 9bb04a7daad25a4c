import { MAX_QUEUE_PARTITIONS } from '../queue/queue-partitions.js';
import { parseRedisUrl } from '../redis/redis-url.js';
import { ConfigError } from './config-error.js';
import { defaults } from './defaults.js';

/** How flow-dispatcher gets its Salesforce access token. */
export type SalesforceAuthConfig =
  | { kind: 'client-credentials'; loginUrl: string; clientId: string; clientSecret: string }
  | {
      kind: 'jwt-bearer';
      loginUrl: string;
      clientId: string;
      username: string;
      privateKeyFile: string;
      audience: string;
    }
  | { kind: 'static'; instanceUrl: string; accessToken: string };

/** The whole configuration, parsed once from the environment at the process edge. */
export interface Config {
  redis: {
    /** REDIS_URL: one server, a Redis Cluster, or Sentinel (see parseRedisUrl). */
    url: string;
    prefix: string;
    /** QUEUE_PARTITIONS: key sets under distinct hash tags, for a Redis Cluster's masters. */
    partitions: number;
  };
  salesforce: {
    /** Absent when no credentials are configured (commands that never call Salesforce). */
    auth: SalesforceAuthConfig | undefined;
    apiVersion: string;
    maxInputsPerCall: number;
    maxConcurrency: number;
    dailyApiShare: number;
    requestTimeoutMs: number;
    connectTimeoutMs: number;
    maxResponseBytes: number;
    describeTtlMs: number;
    /** How often one worker re-reads the org's usage while the daily budget is spent. */
    budgetProbeMs: number;
    /** How often an open flow circuit is probed. */
    circuitProbeMs: number;
  };
  dispatch: {
    lingerMs: number;
    maxAttempts: number;
    maxAgeMs: number;
    retryBaseMs: number;
    retryMaxMs: number;
    maxBufferedTriggers: number;
    /** WORKER_MAX_BUFFERED_BYTES: the same bound in bytes of input JSON. */
    maxBufferedBytes: number;
    resultTtlMs: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
  };
  producer: { idempotencyWindowMs: number; maxChunkSize: number };
  ingest: {
    port: number;
    tokens: string[];
    authDisabled: boolean;
    /** INGEST_LINGER_MS: group-commit linger. */
    lingerMs: number;
    /** INGEST_MAX_CHUNK: soft cap of triggers per chunk job. */
    maxChunk: number;
    /** INGEST_MAX_BODY_BYTES: larger bodies get 413. */
    maxBodyBytes: number;
    /** INGEST_MAX_TRIGGERS_PER_REQUEST. */
    maxTriggersPerRequest: number;
    /** INGEST_MAX_BACKLOG: pending triggers (all flows) past which requests get 429. */
    maxBacklog: number;
    /** INGEST_GROUP_COMMIT: false writes one BullMQ job per trigger (the benchmark baseline). */
    groupCommit: boolean;
    /** INGEST_WRITE_TIMEOUT_MS: deadline of one chunk write. */
    writeTimeoutMs: number;
  };
  /** The admin UI (bull-board) mounted on ingest at /admin. */
  admin: {
    /** ADMIN_UI: mount it (on/off, default off). */
    enabled: boolean;
    /** ADMIN_UI_WRITE: allow the actions that lose nothing (pause, resume, retry, promote). */
    write: boolean;
    /** ADMIN_TOKENS: admin tokens; when empty, INGEST_TOKENS are accepted instead. */
    tokens: string[];
  };
  /** What a worker process consumes. */
  worker: {
    /** WORKER_PARTITIONS: the queue partitions this worker consumes (default: all), ascending. */
    partitions: number[];
  };
  metrics: { port: number };
  log: {
    level: string;
    /** LOG_REDACT_INPUTS: flow input names censored in logs besides the built-in ones. */
    redactInputs: string[];
  };
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads one variable; empty strings count as unset (Kubernetes renders missing keys as ""). */
function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) {
    throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

function fraction(env: Env, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^(0|1|0?\.\d+|1\.0*)$/.test(raw) || !(value > 0 && value <= 1)) {
    throw new ConfigError(
      name,
      `expected a number above 0 and at most 1, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** An http(s) URL; https is required unless the host is a loopback address (tests, simulator). */
function baseUrl(env: Env, name: string): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected a URL such as https://mydomain.my.salesforce.com`);
  }
  if (
    url.protocol !== 'https:' &&
    !(url.protocol === 'http:' && (isLoopbackHost(url.hostname) || insecureHttpAllowed(env)))
  ) {
    throw new ConfigError(
      name,
      'must be an https:// URL (http:// is allowed only for loopback, or anywhere with SF_ALLOW_HTTP=on)',
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ConfigError(name, 'must be a bare origin without credentials, query or fragment');
  }
  return url.origin;
}

/**
 * SF_ALLOW_HTTP=on lets the Salesforce URLs be http:// on any host: development only, for the
 * simulator behind Docker or Kubernetes networking. Credentials then travel in clear text.
 */
function insecureHttpAllowed(env: Env): boolean {
  const raw = read(env, 'SF_ALLOW_HTTP');
  if (raw === undefined || raw === 'off') return false;
  if (raw === 'on') return true;
  throw new ConfigError('SF_ALLOW_HTTP', `expected "on" or "off", got ${JSON.stringify(raw)}`);
}

/** LOG_REDACT_INPUTS: comma-separated flow input names (API names) to censor in logs. */
function redactInputs(env: Env): string[] {
  const name = 'LOG_REDACT_INPUTS';
  const raw = read(env, name);
  if (raw === undefined) return [];
  const names = raw.split(',').map((n) => n.trim());
  if (names.some((n) => n.length === 0)) {
    throw new ConfigError(name, 'contains an empty name (check for stray commas)');
  }
  const bad = names.find((n) => !/^[A-Za-z][A-Za-z0-9_]{0,79}$/.test(n));
  if (bad !== undefined) {
    throw new ConfigError(
      name,
      `expected flow input API names (a letter, then letters, digits or "_"), got ${JSON.stringify(bad)}`,
    );
  }
  return names;
}

function redisUrl(env: Env): string {
  const raw = read(env, 'REDIS_URL') ?? defaults.redisUrl;
  // Throws a ConfigError naming REDIS_URL that never repeats the value (it may hold a password).
  parseRedisUrl(raw, 'REDIS_URL');
  return raw;
}

/**
 * WORKER_PARTITIONS: comma-separated partition numbers (0 to QUEUE_PARTITIONS − 1) a worker
 * consumes; unset means every partition.
 */
function workerPartitions(env: Env, partitions: number): number[] {
  const name = 'WORKER_PARTITIONS';
  const raw = read(env, name);
  if (raw === undefined) return Array.from({ length: partitions }, (_, p) => p);
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => p.length === 0)) {
    throw new ConfigError(name, 'contains an empty entry (check for stray commas)');
  }
  const bad = parts.find((p) => !/^\d{1,4}$/.test(p) || Number(p) >= partitions);
  if (bad !== undefined) {
    throw new ConfigError(
      name,
      `expected partition numbers from 0 to ${partitions - 1} (QUEUE_PARTITIONS is ${partitions}), got ${JSON.stringify(bad)}`,
    );
  }
  const numbers = parts.map(Number);
  if (new Set(numbers).size !== numbers.length) {
    throw new ConfigError(name, 'names a partition twice');
  }
  return numbers.sort((a, b) => a - b);
}

function audienceFor(loginUrl: string): string {
  const host = new URL(loginUrl).hostname;
  return /(^test\.|\.sandbox\.|--)/.test(host)
    ? 'https://test.salesforce.com'
    : 'https://login.salesforce.com';
}

function salesforceAuth(env: Env): SalesforceAuthConfig | undefined {
  const loginUrl = baseUrl(env, 'SF_LOGIN_URL');
  const clientId = read(env, 'SF_CLIENT_ID');
  const clientSecret = read(env, 'SF_CLIENT_SECRET');
  const username = read(env, 'SF_USERNAME');
  const privateKeyFile = read(env, 'SF_PRIVATE_KEY_FILE');
  const instanceUrl = baseUrl(env, 'SF_INSTANCE_URL');
  const accessToken = read(env, 'SF_ACCESS_TOKEN');

  if (username !== undefined || privateKeyFile !== undefined) {
    if (username === undefined)
      throw new ConfigError('SF_USERNAME', 'is required with SF_PRIVATE_KEY_FILE');
    if (privateKeyFile === undefined)
      throw new ConfigError('SF_PRIVATE_KEY_FILE', 'is required with SF_USERNAME');
    if (loginUrl === undefined)
      throw new ConfigError('SF_LOGIN_URL', 'is required for the JWT bearer flow');
    if (clientId === undefined)
      throw new ConfigError('SF_CLIENT_ID', 'is required for the JWT bearer flow');
    const audience = baseUrl(env, 'SF_JWT_AUDIENCE') ?? audienceFor(loginUrl);
    return { kind: 'jwt-bearer', loginUrl, clientId, username, privateKeyFile, audience };
  }
  if (clientId !== undefined || clientSecret !== undefined) {
    if (clientId === undefined)
      throw new ConfigError('SF_CLIENT_ID', 'is required with SF_CLIENT_SECRET');
    if (clientSecret === undefined)
      throw new ConfigError('SF_CLIENT_SECRET', 'is required with SF_CLIENT_ID');
    if (loginUrl === undefined) {
      throw new ConfigError(
        'SF_LOGIN_URL',
        "is required for the client-credentials flow (the org's My Domain URL)",
      );
    }
    return { kind: 'client-credentials', loginUrl, clientId, clientSecret };
  }
  if (instanceUrl !== undefined || accessToken !== undefined) {
    if (instanceUrl === undefined)
      throw new ConfigError('SF_INSTANCE_URL', 'is required with SF_ACCESS_TOKEN');
    if (accessToken === undefined)
      throw new ConfigError('SF_ACCESS_TOKEN', 'is required with SF_INSTANCE_URL');
    return { kind: 'static', instanceUrl, accessToken };
  }
  if (loginUrl !== undefined) {
    throw new ConfigError(
      'SF_CLIENT_ID',
      'is required with SF_LOGIN_URL (with SF_CLIENT_SECRET, or SF_USERNAME and SF_PRIVATE_KEY_FILE)',
    );
  }
  return undefined;
}

function ingestTokens(env: Env): string[] {
  const raw = read(env, 'INGEST_TOKENS');
  if (raw === undefined) return [];
  const tokens = raw.split(',').map((t) => t.trim());
  if (tokens.some((t) => t.length === 0)) {
    throw new ConfigError('INGEST_TOKENS', 'contains an empty token (check for stray commas)');
  }
  if (tokens.some((t) => t.length < 16)) {
    throw new ConfigError('INGEST_TOKENS', 'every token must be at least 16 characters long');
  }
  if (tokens.some((t) => !/^[\x21-\x7e]+$/.test(t))) {
    throw new ConfigError('INGEST_TOKENS', 'tokens must be printable ASCII without spaces');
  }
  return tokens;
}

/** A comma-separated list of bearer tokens (16+ printable ASCII characters each). */
function tokenList(env: Env, name: string): string[] {
  const raw = read(env, name);
  if (raw === undefined) return [];
  const tokens = raw.split(',').map((t) => t.trim());
  if (tokens.some((t) => t.length === 0)) {
    throw new ConfigError(name, 'contains an empty token (check for stray commas)');
  }
  if (tokens.some((t) => t.length < 16)) {
    throw new ConfigError(name, 'every token must be at least 16 characters long');
  }
  if (tokens.some((t) => !/^[\x21-\x7e]+$/.test(t))) {
    throw new ConfigError(name, 'tokens must be printable ASCII without spaces');
  }
  return tokens;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(name, `expected "on" or "off", got ${JSON.stringify(raw)}`);
}

function ingestAuthDisabled(env: Env): boolean {
  const raw = read(env, 'INGEST_AUTH');
  if (raw === undefined || raw === 'bearer') return false;
  if (raw === 'none') return true;
  throw new ConfigError('INGEST_AUTH', `expected "bearer" or "none", got ${JSON.stringify(raw)}`);
}

/**
 * Parses every variable of the public contract (DESIGN.md §4) plus flow-dispatcher's tuning knobs.
 * A bad value throws a ConfigError naming the variable. The result is frozen.
 */
export function loadConfig(env: Env = process.env): Config {
  const prefix = read(env, 'QUEUE_PREFIX') ?? defaults.queuePrefix;
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    throw new ConfigError('QUEUE_PREFIX', 'expected 1 to 32 letters, digits, "_" or "-"');
  }
  const apiVersion = read(env, 'SF_API_VERSION') ?? defaults.apiVersion;
  if (!/^\d{2}\.0$/.test(apiVersion)) {
    throw new ConfigError(
      'SF_API_VERSION',
      `expected a version such as 65.0, got ${JSON.stringify(apiVersion)}`,
    );
  }
  insecureHttpAllowed(env); // validated even when no http:// URL is configured
  const logLevel = read(env, 'LOG_LEVEL') ?? defaults.logLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const hour = 60 * 60_000;
  const day = 24 * hour;
  const retryBaseMs = integer(env, 'DISPATCH_RETRY_BASE_MS', defaults.retryBaseMs, 1, hour);
  const partitions = integer(
    env,
    'QUEUE_PARTITIONS',
    defaults.queuePartitions,
    1,
    MAX_QUEUE_PARTITIONS,
  );
  const config: Config = {
    redis: { url: redisUrl(env), prefix, partitions },
    salesforce: {
      auth: salesforceAuth(env),
      apiVersion,
      maxInputsPerCall: integer(env, 'SF_MAX_INPUTS_PER_CALL', defaults.maxInputsPerCall, 1, 2_000),
      maxConcurrency: integer(env, 'SF_MAX_CONCURRENCY', defaults.maxConcurrency, 1, 1_000),
      dailyApiShare: fraction(env, 'SF_DAILY_API_SHARE', defaults.dailyApiShare),
      requestTimeoutMs: integer(
        env,
        'SF_REQUEST_TIMEOUT_MS',
        defaults.requestTimeoutMs,
        100,
        10 * 60_000,
      ),
      connectTimeoutMs: integer(
        env,
        'SF_CONNECT_TIMEOUT_MS',
        defaults.connectTimeoutMs,
        100,
        120_000,
      ),
      maxResponseBytes: defaults.maxResponseBytes,
      describeTtlMs: integer(env, 'SF_DESCRIBE_TTL_MS', defaults.describeTtlMs, 0, day),
      budgetProbeMs: integer(env, 'SF_BUDGET_PROBE_MS', defaults.budgetProbeMs, 1_000, day),
      circuitProbeMs: integer(env, 'CIRCUIT_PROBE_MS', defaults.circuitProbeMs, 1_000, day),
    },
    dispatch: {
      lingerMs: integer(env, 'DISPATCH_LINGER_MS', defaults.lingerMs, 0, 60_000),
      maxAttempts: integer(env, 'DISPATCH_MAX_ATTEMPTS', defaults.maxAttempts, 1, 1_000),
      maxAgeMs: integer(env, 'DISPATCH_MAX_AGE_MS', defaults.maxAgeMs, 1_000, 30 * day),
      retryBaseMs,
      retryMaxMs: Math.max(
        retryBaseMs,
        integer(env, 'DISPATCH_RETRY_MAX_MS', defaults.retryMaxMs, 1, day),
      ),
      maxBufferedTriggers: integer(
        env,
        'WORKER_MAX_BUFFERED_TRIGGERS',
        defaults.maxBufferedTriggers,
        1,
        10_000_000,
      ),
      maxBufferedBytes: integer(
        env,
        'WORKER_MAX_BUFFERED_BYTES',
        defaults.maxBufferedBytes,
        1024 * 1024,
        16 * 1024 * 1024 * 1024,
      ),
      resultTtlMs: integer(env, 'RESULT_TTL_MS', defaults.resultTtlMs, 1_000, 30 * day),
      lockDurationMs: integer(env, 'WORKER_LOCK_DURATION_MS', defaults.lockDurationMs, 1_000, hour),
      stalledIntervalMs: integer(
        env,
        'WORKER_STALLED_INTERVAL_MS',
        defaults.stalledIntervalMs,
        500,
        hour,
      ),
    },
    producer: {
      idempotencyWindowMs: integer(
        env,
        'IDEMPOTENCY_WINDOW_MS',
        defaults.idempotencyWindowMs,
        1_000,
        30 * day,
      ),
      maxChunkSize: integer(env, 'PRODUCER_CHUNK_SIZE', defaults.maxChunkSize, 1, 10_000),
    },
    ingest: {
      port: integer(env, 'INGEST_PORT', defaults.ingestPort, 0, 65_535),
      tokens: ingestTokens(env),
      authDisabled: ingestAuthDisabled(env),
      lingerMs: integer(env, 'INGEST_LINGER_MS', defaults.ingestLingerMs, 0, 1_000),
      maxChunk: integer(env, 'INGEST_MAX_CHUNK', defaults.ingestMaxChunk, 1, 10_000),
      maxBodyBytes: integer(
        env,
        'INGEST_MAX_BODY_BYTES',
        defaults.ingestMaxBodyBytes,
        1_024,
        64 * 1024 * 1024,
      ),
      maxTriggersPerRequest: integer(
        env,
        'INGEST_MAX_TRIGGERS_PER_REQUEST',
        defaults.ingestMaxTriggersPerRequest,
        1,
        10_000,
      ),
      maxBacklog: integer(env, 'INGEST_MAX_BACKLOG', defaults.ingestMaxBacklog, 1, 1_000_000_000),
      groupCommit: onOff(env, 'INGEST_GROUP_COMMIT', true),
      writeTimeoutMs: integer(
        env,
        'INGEST_WRITE_TIMEOUT_MS',
        defaults.ingestWriteTimeoutMs,
        100,
        60_000,
      ),
    },
    admin: {
      enabled: onOff(env, 'ADMIN_UI', defaults.adminUi !== 'off'),
      write: onOff(env, 'ADMIN_UI_WRITE', defaults.adminUiWrite !== 'off'),
      tokens: tokenList(env, 'ADMIN_TOKENS'),
    },
    worker: { partitions: workerPartitions(env, partitions) },
    metrics: { port: integer(env, 'METRICS_PORT', defaults.metricsPort, 0, 65_535) },
    log: { level: logLevel, redactInputs: redactInputs(env) },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The Salesforce credentials, or a ConfigError saying which variables to set. */
export function requireSalesforceAuth(config: Config): SalesforceAuthConfig {
  const auth = config.salesforce.auth;
  if (auth === undefined) {
    throw new ConfigError(
      'SF_LOGIN_URL',
      'Salesforce credentials are missing: set SF_LOGIN_URL with SF_CLIENT_ID and SF_CLIENT_SECRET ' +
        '(client credentials), or SF_USERNAME and SF_PRIVATE_KEY_FILE (JWT bearer), or ' +
        'SF_INSTANCE_URL and SF_ACCESS_TOKEN (fixed token)',
    );
  }
  return auth;
}
