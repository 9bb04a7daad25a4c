/**
 * Every default of flow-dispatcher, in one place: the environment variables' (see
 * config-variables.ts, whose table the README's configuration table is checked against) and the
 * tuning values no variable sets. Classes take these as required options; the process wiring them
 * (start-worker.ts, ingest-server.ts, the CLI's commands) passes the configuration's value or one of
 * these, and the producer library's optional options fall back to these. Durations end in `Ms`.
 */
export const defaults = {
  redisUrl: 'redis://127.0.0.1:6379',
  queuePrefix: 'fd',
  /** Queue partitions (QUEUE_PARTITIONS): 1 keeps every key in one slot, as on a single Redis. */
  queuePartitions: 1,
  apiVersion: '65.0',
  /**
   * Inputs per invocable-action call: the real cap is unconfirmed, 200 is what users run
   * (docs/salesforce-api.md, Inputs per call).
   */
  maxInputsPerCall: 200,
  /** Calls in flight across the fleet. Salesforce caps long (≥ 20 s) calls at 25 per org. */
  maxConcurrency: 25,
  /** Share of the org's rolling 24 h API allocation this fleet may spend. */
  dailyApiShare: 0.5,
  /**
   * Longest wait for a call to fill. On-demand flows start ~30 s after the API call anyway
   * (docs/salesforce-api.md, Accepted, not delivered), so a fraction of a second buys fuller calls
   * at no visible cost.
   */
  lingerMs: 200,
  requestTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  /** Largest Salesforce answer read; 200 results are well under 1 MB. */
  maxResponseBytes: 16 * 1024 * 1024,
  describeTtlMs: 5 * 60_000,
  /** While the daily budget is spent, one worker re-reads /limits this often (each read is a call). */
  budgetProbeMs: 5 * 60_000,
  /** Decreases of the fleet's adaptive concurrency limit closer together than this count once. */
  limitDecreaseCooldownMs: 1_000,
  /**
   * The fleet's shared token: the lock one worker holds while it mints a new one, how long the
   * others wait for it (the lock and 5 s), and how long a token stays in Redis. Salesforce tokens
   * carry no lifetime; a 401 replaces one long before 12 h in practice.
   */
  tokenLockMs: 15_000,
  tokenWaitMs: 20_000,
  tokenTtlMs: 12 * 60 * 60_000,
  /** SF_ALLOW_HTTP: http:// Salesforce URLs only on loopback hosts. */
  allowHttp: 'off',
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
  /** How often a worker reads the flow registry for new flows. */
  flowPollMs: 500,
  /** BullMQ's `drainDelay`: a consumer's blocking wait for a chunk, in seconds. */
  drainDelaySeconds: 2,
  /** How often a worker re-reads which flows are held, and looks for probes due. */
  holdRefreshMs: 1_000,
  /** A flow whose calls were cut for a governor limit grows back after this quiet time. */
  batchGrowDelayMs: 30_000,
  /** How often a worker samples the queue depth gauges. */
  queueDepthSampleMs: 5_000,
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
  /** Which outcomes append an outcome event (OUTCOME_EVENTS). */
  outcomeEvents: 'settled',
  /** Outcome events kept per partition's stream, approximately (0: no length bound). */
  outcomeEventsMaxLen: 1_000_000,
  /** Outcome events older than this are trimmed, approximately (0: no age bound). */
  outcomeEventsMaxAgeMs: 24 * 60 * 60_000,
  /** Repeat enqueues with the same idempotency key are dropped within this window. */
  idempotencyWindowMs: 24 * 60 * 60_000,
  /** Triggers per chunk job written by the producer library. */
  maxChunkSize: 1_000,
  /** Chunk writes in flight of one `triggerMany`. */
  producerWritesInFlight: 4,
  /** Dead letters one `deadLetters.list()` returns. */
  deadLetterListLimit: 100,
  /** Deepest nesting of objects and arrays below a trigger's input. */
  inputMaxDepth: 8,
  /** Largest trigger input, as JSON. */
  inputMaxBytes: 64 * 1024,
  ingestPort: 8080,
  /** Ingest group commit: longest wait for concurrent requests of a flow to share a chunk job. */
  ingestLingerMs: 2,
  /** Ingest group commit: triggers per chunk job (soft: one request is never split). */
  ingestMaxChunk: 1_000,
  /** INGEST_GROUP_COMMIT: off writes one job per trigger (the benchmark baseline). */
  ingestGroupCommit: 'on',
  /** INGEST_AUTH: `bearer` needs INGEST_TOKENS; `none` lets ingest start without. */
  ingestAuth: 'bearer',
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
  /** After a failed describe, ingest asks again for that flow this long later. */
  ingestDescribeRetryMs: 30_000,
  /** Flows whose describe ingest remembers; the oldest is forgotten past it. */
  ingestDescribeMaxFlows: 1_000,
  /**
   * Describes ingest fetches at once (each costs one API request), and so the connections of its
   * Salesforce client.
   */
  ingestDescribeFetches: 4,
  /** Deadline of GET /v1/flows/{flow} when the describe is not cached. */
  ingestDescribeFetchTimeoutMs: 10_000,
  /** How often ingest reads the backlog (the pending-trigger counters). */
  ingestBacklogPollMs: 500,
  /** `Retry-After` of ingest's 429 and 503 answers, in seconds. */
  ingestRetryAfterSeconds: 1,
  /** The admin UI on ingest's /admin: off unless asked for. */
  adminUi: 'off',
  /** The admin UI is read-only unless ADMIN_UI_WRITE=on. */
  adminUiWrite: 'off',
  /** How long an admin UI browser login lasts. */
  adminSessionTtlMs: 8 * 60 * 60_000,
  /** The admin UI re-reads the flow registry at most this often (on requests). */
  adminRefreshMs: 2_000,
  /** An operator command (stats, dlq, pause…) gives up reaching Redis after this long. */
  operatorConnectTimeoutMs: 5_000,
  /** `enqueue`: a longer CSV record or NDJSON line is reported and skipped. */
  enqueueMaxRecordBytes: 1024 * 1024,
  /** A worker adds its call counts to the fleet's `stats` buckets in Redis this often. */
  statsFlushMs: 1_000,
  /**
   * `stats` leaves out the newest this-long of activity: workers add their counts every
   * `statsFlushMs`, so the last bucket is complete only a moment after it ends.
   */
  statsSettleMs: 2_000,
  metricsPort: 9464,
  logLevel: 'info',
} as const satisfies Record<string, string | number>;
