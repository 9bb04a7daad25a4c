/**
 * Every default of flow-dispatcher, in one place. Durations end in `Ms`.
 */
export const defaults = {
  redisUrl: 'redis://127.0.0.1:6379',
  queuePrefix: 'fd',
  /** Queue partitions (QUEUE_PARTITIONS): 1 keeps every key in one slot, as on a single Redis. */
  queuePartitions: 1,
  apiVersion: '65.0',
  /** Inputs per invocable-action call; API-NOTES §3: the real cap is unconfirmed, 200 is what users run. */
  maxInputsPerCall: 200,
  /** Calls in flight across the fleet. Salesforce caps long (≥ 20 s) calls at 25 per org. */
  maxConcurrency: 25,
  /** Share of the org's rolling 24 h API allocation this fleet may spend. */
  dailyApiShare: 0.5,
  /**
   * Longest wait for a call to fill. On-demand flows start ~30 s after the API call anyway
   * (API-NOTES §0), so a fraction of a second buys fuller calls at no visible cost.
   */
  lingerMs: 200,
  requestTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  /** Largest Salesforce answer read; 200 results are well under 1 MB. */
  maxResponseBytes: 16 * 1024 * 1024,
  describeTtlMs: 5 * 60_000,
  /** While the daily budget is spent, one worker re-reads /limits this often (each read is a call). */
  budgetProbeMs: 5 * 60_000,
  /**
   * A held flow (404, a 403 refusal) is probed (one describe, by one worker) this long after it
   * was held; each probe that finds it still refused doubles the wait, up to `circuitProbeMaxMs`.
   */
  circuitProbeMs: 60_000,
  /** The longest wait between two probes of a held flow: a flow gone for good costs 24 a day. */
  circuitProbeMaxMs: 60 * 60_000,
  /** Probes of held flows the whole fleet makes per second at most, however many are held. */
  holdProbesPerSecond: 1,
  /**
   * A flow's breaker holds it after this many calls in a row whose every input failed with the
   * same error (ids and values aside)…
   */
  breakerCalls: 3,
  /** …carrying at least this many distinct triggers (a few lone bad triggers never trip it). */
  breakerTriggers: 10,
  /**
   * A worker closes a flow's consumer (and its blocking Redis connection) after this long without
   * a chunk, and at once while the flow is held; it reopens within a couple of seconds of new work.
   */
  consumerIdleMs: 60_000,
  /** A trigger that failed transiently this many times is dead-lettered. */
  maxAttempts: 10,
  /** A trigger older than this when it fails transiently is dead-lettered. */
  maxAgeMs: 12 * 60 * 60_000,
  retryBaseMs: 1_000,
  retryMaxMs: 5 * 60_000,
  /** Triggers a worker process holds in memory (fetched, not yet answered). */
  maxBufferedTriggers: 20_000,
  /**
   * Bytes of input (as JSON) a worker process holds in memory. Parsed, an input takes about three
   * times its JSON size in V8's heap: 64 MiB of inputs stay well inside the 384 MB old space of
   * the Deployment's 512Mi limit, whatever the inputs' sizes.
   */
  maxBufferedBytes: 64 * 1024 * 1024,
  /** Lock on a chunk a worker holds; renewed at half. A killed worker's chunks return after it. */
  lockDurationMs: 30_000,
  /** How often workers look for chunks whose worker died. */
  stalledIntervalMs: 30_000,
  /** How long a trigger's outcome stays readable after its last change. */
  resultTtlMs: 24 * 60 * 60_000,
  /** Repeat enqueues with the same idempotency key are dropped within this window. */
  idempotencyWindowMs: 24 * 60 * 60_000,
  /** Triggers per chunk job written by the producer library. */
  maxChunkSize: 1_000,
  ingestPort: 8080,
  /** Ingest group commit: longest wait for concurrent requests of a flow to share a chunk job. */
  ingestLingerMs: 2,
  /** Ingest group commit: triggers per chunk job (soft: one request is never split). */
  ingestMaxChunk: 1_000,
  /** Largest ingest request body; larger ones get 413. */
  ingestMaxBodyBytes: 5 * 1024 * 1024,
  /** Triggers (or drop-in inputs) in one ingest request. */
  ingestMaxTriggersPerRequest: 1_000,
  /** Stored-but-unsettled triggers (all flows) past which ingest answers 429. */
  ingestMaxBacklog: 1_000_000,
  /** Deadline of one ingest chunk write; past it the request gets 503. */
  ingestWriteTimeoutMs: 5_000,
  /**
   * Group commit's chunk writes in flight per lane (flow and partition), in ingest and in the
   * library's `trigger()`; while all are busy, the open chunk keeps filling.
   */
  ingestMaxWritesInFlight: 4,
  /**
   * The same for requests with idempotency keys: their writes are transactions run one at a time,
   * so more in flight would only queue small chunks.
   */
  ingestMaxKeyedWritesInFlight: 1,
  /**
   * Longest wait of an ingest request for its flow's first describe (capped by the Salesforce
   * request timeout); past it the request is accepted unchecked.
   */
  ingestDescribeHoldMs: 2_000,
  /**
   * Ingest answers 404 for a flow Salesforce said does not exist for this long (or
   * SF_DESCRIBE_TTL_MS if shorter) before asking again: one describe per made-up name per minute.
   */
  ingestMissingFlowTtlMs: 60_000,
  /** How often ingest reads the backlog (the pending-trigger counters). */
  ingestBacklogPollMs: 500,
  /** `Retry-After` of ingest's 429 and 503 answers, in seconds. */
  ingestRetryAfterSeconds: 1,
  /** The admin UI on ingest's /admin: off unless asked for. */
  adminUi: 'off',
  /** The admin UI is read-only unless ADMIN_UI_WRITE=on. */
  adminUiWrite: 'off',
  metricsPort: 9464,
  logLevel: 'info',
} as const satisfies Record<string, string | number>;
