import { MAX_QUEUE_PARTITIONS } from '../queue/queue-partitions.js';
import type { Config } from './config.js';
import {
  apiVersion,
  choice,
  fraction,
  inputNameList,
  matching,
  onOff,
  origin,
  type Parser,
  partitionList,
  redisUrl,
  text,
  tokenList,
  wholeNumber,
} from './config-parsers.js';
import { defaults } from './defaults.js';

/** `section.key` of a value of Config: `salesforce.requestTimeoutMs`. */
export type ConfigPath = {
  [S in keyof Config]: `${S}.${keyof Config[S] & string}`;
}[keyof Config];

type ValueAt<P extends ConfigPath> = P extends `${infer S extends keyof Config}.${infer K}`
  ? K extends keyof Config[S]
    ? Config[S][K]
    : never
  : never;

/** One environment variable: where its value goes, its default, how it is read, what it does. */
export interface ConfigVariable<V> {
  /** Where its value goes in Config; undefined: a rule of env-config.ts combines it with others. */
  readonly at: ConfigPath | undefined;
  /** Its value when unset, written as in the environment (`''`: empty); undefined: none. */
  readonly default: string | undefined;
  /** How the README shows a default that a rule derives (`all`); undefined otherwise. */
  readonly shownDefault: string | undefined;
  /** What it accepts, in words. */
  readonly accepts: string;
  /** A secret or personal data: never repeated in a message. */
  readonly sensitive: boolean;
  /** What it does, in one line. */
  readonly doc: string;
  /** Its value, from `raw` (trimmed; undefined when the variable is unset or empty). */
  read(raw: string | undefined, name: string): V;
}

interface Spec {
  doc: string;
  sensitive?: boolean;
}

/** A variable whose value goes to `at` in Config, its default when unset. */
function setting<P extends ConfigPath>(
  at: P,
  parser: Parser<ValueAt<P>>,
  spec: Spec & { default: string | number },
): ConfigVariable<ValueAt<P>> & { readonly at: P } {
  const fallback = String(spec.default);
  return {
    at,
    default: fallback,
    shownDefault: undefined,
    accepts: parser.accepts,
    sensitive: spec.sensitive ?? false,
    doc: spec.doc,
    read: (raw, name) => parser.read(raw ?? fallback, name),
  };
}

/** A variable that a rule of env-config.ts reads together with others. */
function input<T>(
  parser: Parser<T>,
  spec: Spec & { default: string | number },
): ConfigVariable<T> & { readonly at: undefined };
function input<T>(
  parser: Parser<T>,
  spec: Spec & { shownDefault?: string },
): ConfigVariable<T | undefined> & { readonly at: undefined };
function input<T>(
  parser: Parser<T>,
  spec: Spec & { default?: string | number; shownDefault?: string },
): ConfigVariable<T | undefined> & { readonly at: undefined } {
  const fallback = spec.default === undefined ? undefined : String(spec.default);
  return {
    at: undefined,
    default: fallback,
    shownDefault: spec.shownDefault,
    accepts: parser.accepts,
    sensitive: spec.sensitive ?? false,
    doc: spec.doc,
    read: (raw, name) => {
      const value = raw ?? fallback;
      return value === undefined ? undefined : parser.read(value, name);
    },
  };
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const MIB = 1024 * 1024;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every environment variable flow-dispatcher reads, in the order of the README's configuration
 * table (a unit test checks that table against this one: the same variables, the same defaults).
 * Each is read alone here; what depends on several (the Salesforce credentials, WORKER_PARTITIONS
 * against QUEUE_PARTITIONS, the retry cap against its base, http:// URLs against SF_ALLOW_HTTP)
 * is a rule of env-config.ts. Defaults come from `defaults`; the ranges are what makes sense.
 */
export const CONFIG_VARIABLES = {
  REDIS_URL: setting('redis.url', redisUrl, {
    default: defaults.redisUrl,
    doc: 'Redis to use: one server, a Redis Cluster or Sentinel',
    sensitive: true, // it may hold a password
  }),
  QUEUE_PREFIX: setting(
    'redis.prefix',
    matching(/^[A-Za-z0-9_-]{1,32}$/, '1 to 32 letters, digits, "_" or "-"'),
    { default: defaults.queuePrefix, doc: 'key prefix, hash-tagged for Redis Cluster' },
  ),
  QUEUE_PARTITIONS: setting('redis.partitions', wholeNumber(1, MAX_QUEUE_PARTITIONS), {
    default: defaults.queuePartitions,
    doc: 'key sets under distinct hash tags, the same on every process of the fleet',
  }),
  WORKER_PARTITIONS: input(partitionList, {
    shownDefault: 'all',
    doc: 'the queue partitions this worker consumes',
  }),
  SF_LOGIN_URL: input(origin, { doc: "the org's My Domain URL (token endpoint)" }),
  SF_CLIENT_ID: input(text, { doc: "the connected app's consumer key" }),
  SF_CLIENT_SECRET: input(text, {
    doc: "the connected app's consumer secret (client-credentials flow)",
    sensitive: true,
  }),
  SF_USERNAME: input(text, { doc: 'the integration user (JWT bearer flow)', sensitive: true }),
  SF_PRIVATE_KEY_FILE: input(text, { doc: "the PEM file of the JWT bearer flow's RSA key" }),
  SF_JWT_AUDIENCE: input(origin, {
    shownDefault: 'login or test.salesforce.com',
    doc: 'the JWT `aud`, derived from SF_LOGIN_URL when unset',
  }),
  SF_INSTANCE_URL: input(origin, { doc: 'the instance of a fixed token (development)' }),
  SF_ACCESS_TOKEN: input(text, { doc: 'a fixed token (development)', sensitive: true }),
  SF_API_VERSION: setting('salesforce.apiVersion', apiVersion, {
    default: defaults.apiVersion,
    doc: 'REST API version',
  }),
  SF_MAX_INPUTS_PER_CALL: setting('salesforce.maxInputsPerCall', wholeNumber(1, 2_000), {
    default: defaults.maxInputsPerCall,
    doc: 'most inputs per invocable-action call',
  }),
  SF_MAX_CONCURRENCY: setting('salesforce.maxConcurrency', wholeNumber(1, 1_000), {
    default: defaults.maxConcurrency,
    doc: 'calls in flight at once, across the fleet',
  }),
  SF_DAILY_API_SHARE: setting('salesforce.dailyApiShare', fraction, {
    default: defaults.dailyApiShare,
    doc: "share of the org's rolling 24 h API allocation the fleet may spend",
  }),
  SF_BUDGET_PROBE_MS: setting('salesforce.budgetProbeMs', wholeNumber(1_000, DAY_MS), {
    default: defaults.budgetProbeMs,
    doc: 'while the budget is spent, one worker re-reads /limits this often',
  }),
  CIRCUIT_PROBE_MS: setting('salesforce.circuitProbeMs', wholeNumber(1_000, DAY_MS), {
    default: defaults.circuitProbeMs,
    doc: 'first probe of a held flow after this long, then twice as far each time',
  }),
  SF_REQUEST_TIMEOUT_MS: setting('salesforce.requestTimeoutMs', wholeNumber(100, 10 * MINUTE_MS), {
    default: defaults.requestTimeoutMs,
    doc: 'deadline of one request, queueing to last byte',
  }),
  SF_CONNECT_TIMEOUT_MS: setting('salesforce.connectTimeoutMs', wholeNumber(100, 2 * MINUTE_MS), {
    default: defaults.connectTimeoutMs,
    doc: 'deadline to open a connection',
  }),
  SF_DESCRIBE_TTL_MS: setting('salesforce.describeTtlMs', wholeNumber(0, DAY_MS), {
    default: defaults.describeTtlMs,
    doc: "how long a flow's describe is reused",
  }),
  DISPATCH_LINGER_MS: setting('dispatch.lingerMs', wholeNumber(0, MINUTE_MS), {
    default: defaults.lingerMs,
    doc: 'longest wait for a call to fill',
  }),
  DISPATCH_MAX_ATTEMPTS: setting('dispatch.maxAttempts', wholeNumber(1, 1_000), {
    default: defaults.maxAttempts,
    doc: 'counted failures before a trigger is dead-lettered',
  }),
  DISPATCH_MAX_AGE_MS: setting('dispatch.maxAgeMs', wholeNumber(1_000, 30 * DAY_MS), {
    default: defaults.maxAgeMs,
    doc: 'a trigger older than this when it fails transiently is dead-lettered',
  }),
  DISPATCH_RETRY_BASE_MS: setting('dispatch.retryBaseMs', wholeNumber(1, HOUR_MS), {
    default: defaults.retryBaseMs,
    doc: 'retry backoff: the first delay',
  }),
  DISPATCH_RETRY_MAX_MS: setting('dispatch.retryMaxMs', wholeNumber(1, DAY_MS), {
    default: defaults.retryMaxMs,
    doc: 'retry backoff: the longest delay (never below the base)',
  }),
  WORKER_MAX_BUFFERED_TRIGGERS: setting(
    'dispatch.maxBufferedTriggers',
    wholeNumber(1, 10_000_000),
    { default: defaults.maxBufferedTriggers, doc: 'triggers a worker holds in memory' },
  ),
  WORKER_MAX_BUFFERED_BYTES: setting(
    'dispatch.maxBufferedBytes',
    wholeNumber(MIB, 16 * 1024 * MIB),
    {
      default: defaults.maxBufferedBytes,
      doc: 'bytes of input (as JSON) a worker holds in memory',
    },
  ),
  WORKER_LOCK_DURATION_MS: setting('dispatch.lockDurationMs', wholeNumber(1_000, HOUR_MS), {
    default: defaults.lockDurationMs,
    doc: 'lock on a chunk a worker holds, renewed at half',
  }),
  WORKER_STALLED_INTERVAL_MS: setting('dispatch.stalledIntervalMs', wholeNumber(500, HOUR_MS), {
    default: defaults.stalledIntervalMs,
    doc: 'how often workers look for chunks of dead workers',
  }),
  RESULT_TTL_MS: setting('dispatch.resultTtlMs', wholeNumber(1_000, 30 * DAY_MS), {
    default: defaults.resultTtlMs,
    doc: "how long a trigger's outcome stays readable",
  }),
  OUTCOME_EVENTS: setting(
    'dispatch.outcomeEvents',
    choice({ settled: 'settled', all: 'all', off: 'off' } as const),
    {
      default: defaults.outcomeEvents,
      doc: 'outcomes that append an outcome event: settled (succeeded, dead), all (and retried), off',
    },
  ),
  OUTCOME_EVENTS_MAXLEN: setting('dispatch.outcomeEventsMaxLen', wholeNumber(0, 100_000_000), {
    default: defaults.outcomeEventsMaxLen,
    doc: "outcome events kept per partition's stream, approximately (0: no length bound)",
  }),
  OUTCOME_EVENTS_MAX_AGE_MS: setting(
    'dispatch.outcomeEventsMaxAgeMs',
    wholeNumber(0, 30 * DAY_MS),
    {
      default: defaults.outcomeEventsMaxAgeMs,
      doc: 'outcome events older than this are trimmed, approximately (0: no age bound)',
    },
  ),
  IDEMPOTENCY_WINDOW_MS: setting('producer.idempotencyWindowMs', wholeNumber(1_000, 30 * DAY_MS), {
    default: defaults.idempotencyWindowMs,
    doc: 'repeat idempotency keys within it are dropped',
  }),
  PRODUCER_CHUNK_SIZE: setting('producer.maxChunkSize', wholeNumber(1, 10_000), {
    default: defaults.maxChunkSize,
    doc: 'triggers per chunk job in `triggerMany`',
  }),
  INGEST_PORT: setting('ingest.port', wholeNumber(0, 65_535), {
    default: defaults.ingestPort,
    doc: 'ingest HTTP port',
  }),
  INGEST_TOKENS: setting('ingest.tokens', tokenList, {
    default: '',
    doc: 'bearer tokens accepted by ingest',
    sensitive: true,
  }),
  INGEST_AUTH: setting('ingest.authDisabled', choice({ bearer: false, none: true }), {
    default: defaults.ingestAuth,
    doc: '`none` lets ingest start without tokens',
  }),
  INGEST_LINGER_MS: setting('ingest.lingerMs', wholeNumber(0, 1_000), {
    default: defaults.ingestLingerMs,
    doc: "group commit: longest wait for a flow's concurrent requests to share a chunk",
  }),
  INGEST_MAX_CHUNK: setting('ingest.maxChunk', wholeNumber(1, 10_000), {
    default: defaults.ingestMaxChunk,
    doc: 'group commit: triggers per chunk (a request is never split)',
  }),
  INGEST_MAX_BODY_BYTES: setting('ingest.maxBodyBytes', wholeNumber(1_024, 64 * MIB), {
    default: defaults.ingestMaxBodyBytes,
    doc: 'larger request bodies get 413',
  }),
  INGEST_MAX_TRIGGERS_PER_REQUEST: setting('ingest.maxTriggersPerRequest', wholeNumber(1, 10_000), {
    default: defaults.ingestMaxTriggersPerRequest,
    doc: 'more triggers in a request get 400',
  }),
  INGEST_MAX_BACKLOG: setting('ingest.maxBacklog', wholeNumber(1, 1_000_000_000), {
    default: defaults.ingestMaxBacklog,
    doc: 'triggers stored and not yet settled, past which ingest answers 429',
  }),
  INGEST_WRITE_TIMEOUT_MS: setting('ingest.writeTimeoutMs', wholeNumber(100, MINUTE_MS), {
    default: defaults.ingestWriteTimeoutMs,
    doc: 'a chunk write taking longer answers 503',
  }),
  INGEST_GROUP_COMMIT: setting('ingest.groupCommit', onOff, {
    default: defaults.ingestGroupCommit,
    doc: '`off` writes one job per trigger (the benchmark baseline)',
  }),
  ADMIN_UI: setting('admin.enabled', onOff, {
    default: defaults.adminUi,
    doc: "`on` mounts the admin UI at ingest's /admin",
  }),
  ADMIN_UI_WRITE: setting('admin.write', onOff, {
    default: defaults.adminUiWrite,
    doc: '`on` allows pause, resume, retry and promote from the admin UI',
  }),
  ADMIN_TOKENS: setting('admin.tokens', tokenList, {
    default: '',
    doc: 'tokens of the admin UI',
    sensitive: true,
  }),
  METRICS_PORT: setting('metrics.port', wholeNumber(0, 65_535), {
    default: defaults.metricsPort,
    doc: "a worker's /metrics, /healthz, /readyz; set for ingest: its /metrics and /admin",
  }),
  LOG_LEVEL: setting(
    'log.level',
    choice(Object.fromEntries(LOG_LEVELS.map((level) => [level, level]))),
    { default: defaults.logLevel, doc: 'pino level' },
  ),
  LOG_REDACT_INPUTS: setting('log.redactInputs', inputNameList, {
    default: '',
    doc: 'flow input names censored in logs besides the built-in ones',
  }),
  SF_ALLOW_HTTP: input(onOff, {
    default: defaults.allowHttp,
    doc: '`on` allows http:// Salesforce URLs on any host (development)',
  }),
} as const;

export type ConfigVariableName = keyof typeof CONFIG_VARIABLES;

/** Every variable's value, each read alone (the rules of env-config.ts not applied yet). */
export type ConfigValues = {
  [K in ConfigVariableName]: (typeof CONFIG_VARIABLES)[K] extends ConfigVariable<infer V>
    ? V
    : never;
};

/** The Config paths the table fills (the others are filled by the rules of env-config.ts). */
export type PlacedPath = {
  [K in ConfigVariableName]: (typeof CONFIG_VARIABLES)[K]['at'];
}[ConfigVariableName] &
  ConfigPath;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads every variable of the table from `env`; a bad value throws a ConfigError naming it. */
export function readConfigValues(env: Env): ConfigValues {
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(CONFIG_VARIABLES)) {
    // Empty counts as unset: Kubernetes renders a missing key of a ConfigMap as "".
    const raw = env[name]?.trim();
    values[name] = (variable as ConfigVariable<unknown>).read(raw === '' ? undefined : raw, name);
  }
  return values as ConfigValues;
}
