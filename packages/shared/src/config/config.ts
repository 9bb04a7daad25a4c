/**
 * The typed configuration a process receives, parsed once at its edge by `loadConfig` from the
 * variables of config-variables.ts. Everything inside takes what it needs from it.
 */

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

/**
 * Which outcomes append an outcome event: `settled` (succeeded and dead), `all` (retries as well)
 * or `off`.
 */
export type OutcomeEventsMode = 'settled' | 'all' | 'off';

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
    /** OUTCOME_EVENTS: which outcomes append an event to the partition's outcome stream. */
    outcomeEvents: OutcomeEventsMode;
    /** OUTCOME_EVENTS_MAXLEN: events kept per partition (approximately; 0: unbounded). */
    outcomeEventsMaxLen: number;
    /** OUTCOME_EVENTS_MAX_AGE_MS: events older than this are trimmed (0: no age bound). */
    outcomeEventsMaxAgeMs: number;
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
    /**
     * METRICS_PORT when it is set: ingest then serves `/metrics` and `/admin` there, not on
     * INGEST_PORT. undefined: everything on INGEST_PORT.
     */
    metricsPort: number | undefined;
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
