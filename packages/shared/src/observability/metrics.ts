import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { packageVersion } from '../package-version.js';

const NON_COUNTER_TOTALS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Which process a registry serves. A metric is exported only by the process that sets it
 * (docs/metrics.md, Who exports what): prom-client exports a gauge nobody set as 0, and a 0 from
 * ingest beside a worker's real value makes `min`/`sum` lie. `worker`: the dispatch, queue and
 * limit metrics; `ingest`: none of those (ingest adds its own, see ingest-metrics.ts); `all`: both,
 * for one process that embeds a worker and ingest.
 */
export type MetricsRole = 'worker' | 'ingest' | 'all';

export interface CreateMetricsOptions {
  /** Node's default metrics (`process_*`, `nodejs_*`). @defaultValue true */
  defaultMetrics?: boolean;
  /** @defaultValue 'worker' */
  role?: MetricsRole;
  /** `flow_dispatcher_build_info{version}`. @defaultValue this package's version */
  version?: string;
  /**
   * `flow_dispatcher_build_info{revision}`. @defaultValue FLOW_DISPATCHER_REVISION (set when the
   * image is built), else `unknown`
   */
  revision?: string;
}

/** The source revision the image was built from (FLOW_DISPATCHER_REVISION), else `unknown`. */
export function buildRevision(env: NodeJS.ProcessEnv = process.env): string {
  const revision = env.FLOW_DISPATCHER_REVISION?.trim();
  // A bounded label value: a commit hash or a tag, nothing longer.
  return revision && /^[\w.+-]{1,64}$/.test(revision) ? revision : 'unknown';
}

/** Where a trigger was enqueued from: `flow_dispatcher_triggers_enqueued_total{source}`. */
export const ENQUEUE_SOURCES = ['library', 'ingest', 'cli', 'replay'] as const;
export type EnqueueSource = (typeof ENQUEUE_SOURCES)[number];

/**
 * The metrics of docs/design.md#metrics (listed in docs/metrics.md), created once per process. Names are a public contract (dashboards
 * and alerts use them). Labels stay bounded: flow API names, outcomes, HTTP statuses and Salesforce
 * error codes; never an id, an email or a phone number. Every role gets `build_info`, `ready` and
 * `token_requests_total`; only `worker` (and `all`) registers the others.
 */
export function createMetrics(options: CreateMetricsOptions = {}) {
  const registry = new Registry();
  const role = options.role ?? 'worker';
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges `_total`, which `promtool check metrics` rejects (a suffix
    // reserved for counters); `nodejs_active_handles{type}` and its siblings carry the same counts.
    for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  }
  const shared = [registry];
  // Metrics nobody in this process sets are created unregistered: never exported.
  const registers = role === 'ingest' ? [] : [registry];
  const buildInfo = new Gauge({
    name: 'flow_dispatcher_build_info',
    help: 'Always 1: the release (version), source revision and Node.js version this process runs.',
    labelNames: ['version', 'revision', 'node'] as const,
    registers: shared,
  });
  buildInfo.set(
    {
      version: options.version ?? packageVersion(),
      revision: options.revision ?? buildRevision(),
      node: process.versions.node,
    },
    1,
  );
  const readiness = new Map<'worker' | 'ingest', () => boolean | Promise<boolean>>();
  return {
    registry,
    role,
    buildInfo,
    ready: new Gauge({
      name: 'flow_dispatcher_ready',
      help: 'What /readyz answers, read at each scrape: 1 ready (200), 0 not ready (503: Redis unreachable, starting, stopping), by role (worker, ingest).',
      labelNames: ['role'] as const,
      registers: shared,
      async collect() {
        for (const [name, check] of readiness) {
          const ready = await Promise.resolve()
            .then(check)
            .catch(() => false);
          this.set({ role: name }, ready ? 1 : 0);
        }
      },
    }),
    /**
     * Makes `flow_dispatcher_ready{role}` follow `check`, the function that answers `/readyz`
     * (asked at each scrape).
     */
    trackReadiness(name: 'worker' | 'ingest', check: () => boolean | Promise<boolean>): void {
      readiness.set(name, check);
    },
    triggersEnqueued: new Counter({
      name: 'flow_dispatcher_triggers_enqueued_total',
      help: 'Triggers stored in Redis (acknowledged to a producer), by flow and source (library, ingest, cli, replay), counted in Redis by the write itself and sampled from Redis every few seconds; every worker reports the same numbers (aggregate with max). Duplicates are not counted.',
      labelNames: ['flow', 'source'] as const,
      registers,
    }),
    triggers: new Counter({
      name: 'flow_dispatcher_triggers_total',
      help: 'Trigger outcomes by flow: succeeded, retried (a transient failure, sent again later) or dead (dead-lettered).',
      labelNames: ['flow', 'outcome'] as const,
      registers,
    }),
    salesforceRequests: new Counter({
      name: 'flow_dispatcher_salesforce_requests_total',
      help: 'Invocable-action calls to Salesforce by flow, HTTP status (or timeout/reset) and Salesforce error code ("" when none).',
      labelNames: ['flow', 'status', 'error_code'] as const,
      registers,
    }),
    salesforceRequestDuration: new Histogram({
      name: 'flow_dispatcher_salesforce_request_duration_seconds',
      help: 'Duration of invocable-action calls to Salesforce, by flow.',
      labelNames: ['flow'] as const,
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
      registers,
    }),
    batchInputs: new Histogram({
      name: 'flow_dispatcher_batch_inputs',
      help: 'Inputs carried by each invocable-action call, by flow.',
      labelNames: ['flow'] as const,
      buckets: [1, 2, 5, 10, 25, 50, 100, 150, 200, 500, 1000, 2000],
      registers,
    }),
    triggerLatency: new Histogram({
      name: 'flow_dispatcher_trigger_latency_seconds',
      help: "Time from a trigger's enqueue to Salesforce's answer that settled it (succeeded or dead), by flow.",
      labelNames: ['flow'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    dispatchWait: new Histogram({
      name: 'flow_dispatcher_dispatch_wait_seconds',
      help: "Time from a trigger's enqueue to the start of the call that first carries it, by priority lane (high, normal, low); retries are not observed.",
      labelNames: ['priority'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    }),
    queueJobs: new Gauge({
      name: 'flow_dispatcher_queue_jobs',
      help: "Chunk jobs in a flow's queue by BullMQ state (waiting, prioritized, active, delayed, failed), sampled from Redis every few seconds; every worker reports the same numbers (aggregate with max).",
      labelNames: ['flow', 'state'] as const,
      registers,
    }),
    backlogTriggers: new Gauge({
      name: 'flow_dispatcher_backlog_triggers',
      help: 'Triggers stored and not yet settled (succeeded or dead-lettered), by flow, excluding scheduled triggers not due yet (flow_dispatcher_scheduled_triggers), sampled from Redis every few seconds; every worker reports the same numbers (aggregate with max).',
      labelNames: ['flow'] as const,
      registers,
    }),
    scheduledTriggers: new Gauge({
      name: 'flow_dispatcher_scheduled_triggers',
      help: 'Scheduled triggers (notBefore/delay) whose chunk no worker has taken yet (it is taken about 1 s before its earliest trigger is due), by flow, sampled from Redis every few seconds; every worker reports the same numbers (aggregate with max).',
      labelNames: ['flow'] as const,
      registers,
    }),
    deadLetters: new Gauge({
      name: 'flow_dispatcher_dead_letters',
      help: 'Triggers in the dead-letter queue, sampled from Redis every few seconds; every worker reports the same number (aggregate with max).',
      registers,
    }),
    outcomeEvents: new Gauge({
      name: 'flow_dispatcher_outcome_events',
      help: 'Outcome events kept in the outcome streams (all partitions; bounded by OUTCOME_EVENTS_MAXLEN and OUTCOME_EVENTS_MAX_AGE_MS), sampled from Redis every few seconds; every worker reports the same number (aggregate with max).',
      registers,
    }),
    outcomeEventsLag: new Gauge({
      name: 'flow_dispatcher_outcome_events_lag',
      help: "Outcome events a consumer group has not been delivered yet (XINFO GROUPS lag, all partitions; the stream's length when Redis cannot tell), by group, sampled every few seconds (aggregate with max).",
      labelNames: ['group'] as const,
      registers,
    }),
    outcomeEventsPending: new Gauge({
      name: 'flow_dispatcher_outcome_events_pending',
      help: 'Outcome events delivered to a consumer group and not acknowledged yet (all partitions), by group, sampled every few seconds (aggregate with max).',
      labelNames: ['group'] as const,
      registers,
    }),
    apiUsageRatio: new Gauge({
      name: 'flow_dispatcher_api_usage_ratio',
      help: "Used share of the org's rolling 24 h API allocation, from the last Sforce-Limit-Info header.",
      registers,
    }),
    apiBudgetShare: new Gauge({
      name: 'flow_dispatcher_api_budget_share',
      help: "Share of the org's rolling 24 h API allocation this fleet may use (SF_DAILY_API_SHARE); compare with flow_dispatcher_api_usage_ratio.",
      registers,
    }),
    concurrencyLimit: new Gauge({
      name: 'flow_dispatcher_concurrency_limit',
      help: 'Calls to Salesforce allowed in flight at once (the current limit).',
      registers,
    }),
    inflightCalls: new Gauge({
      name: 'flow_dispatcher_inflight_calls',
      help: 'Calls to Salesforce in flight now.',
      registers,
    }),
    apiBudgetRemaining: new Gauge({
      name: 'flow_dispatcher_api_budget_remaining',
      help: "Calls this fleet may still make today: SF_DAILY_API_SHARE of the org's allocation minus the org's usage.",
      registers,
    }),
    pauses: new Counter({
      name: 'flow_dispatcher_pauses_total',
      help: 'Fleet-wide pauses of every call of the org, by cause (overloaded, rate-limited, daily-limit, concurrency-limit).',
      labelNames: ['cause'] as const,
      registers,
    }),
    circuitOpen: new Gauge({
      name: 'flow_dispatcher_circuit_open',
      help: "1 while a flow's circuit is open (Salesforce answered 404: calls to it stop, its triggers wait), else 0.",
      labelNames: ['flow'] as const,
      registers,
    }),
    flowHeld: new Gauge({
      name: 'flow_dispatcher_flow_held',
      help: 'Flows held (calls stopped, triggers waiting) by reason (not_found, refused, breaker) and Salesforce error code; flow="*" when the whole org is held. Present only while held.',
      labelNames: ['flow', 'reason', 'code'] as const,
      registers,
    }),
    flowPacePerSecond: new Gauge({
      name: 'flow_dispatcher_flow_pace_per_second',
      help: 'Paced flows: the most inputs per second the fleet sends of the flow (`flow-dispatcher pace`). Absent for a flow that is not paced.',
      labelNames: ['flow'] as const,
      registers,
    }),
    tokenRequests: new Counter({
      name: 'flow_dispatcher_token_requests_total',
      help: 'Requests this process made to the Salesforce token endpoint (the fleet shares one token).',
      registers: shared,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
