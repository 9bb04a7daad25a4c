import type { Metrics } from '@flow-dispatcher/shared';
import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Ingest's own metrics, on the process's registry beside the shared ones every role exports
 * (docs/metrics.md). The triggers it stores are counted in Redis by the write itself and exported
 * by the workers (`flow_dispatcher_triggers_enqueued_total{source="ingest"}`). Labels stay
 * bounded: a route pattern name, an HTTP status, a fixed set of reasons.
 */
export function createIngestMetrics(metrics: Metrics) {
  const registers = [metrics.registry];
  return {
    requests: new Counter({
      name: 'flow_dispatcher_ingest_requests_total',
      help: 'Ingest HTTP requests by route (triggers, drop_in, trigger_status, flow_describe, health, metrics, unmatched) and HTTP status.',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: 'flow_dispatcher_ingest_request_duration_seconds',
      help: 'Ingest HTTP request duration by route, from the request to its answer (includes the group-commit linger and the Redis write).',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    inFlight: new Gauge({
      name: 'flow_dispatcher_ingest_requests_in_flight',
      help: 'Ingest HTTP requests received and not yet answered.',
      registers,
    }),
    chunkTriggers: new Histogram({
      name: 'flow_dispatcher_ingest_chunk_triggers',
      help: 'Triggers per chunk job written by ingest (group commit gathers concurrent requests into one chunk).',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    chunkWriteFailures: new Counter({
      name: 'flow_dispatcher_ingest_chunk_write_failures_total',
      help: 'Chunk writes that failed (Redis unreachable, write deadline passed); every request in the chunk got 503.',
      registers,
    }),
    validationSkipped: new Counter({
      name: 'flow_dispatcher_ingest_validation_skipped_total',
      help: "Triggers accepted without a check against their flow's describe, by reason (no_salesforce, not_cached, salesforce_unavailable, describe_empty).",
      labelNames: ['reason'] as const,
      registers,
    }),
    backlog: new Gauge({
      name: 'flow_dispatcher_ingest_backlog_triggers',
      help: 'Triggers stored and not yet settled, all flows, as last read by ingest (compared with INGEST_MAX_BACKLOG).',
      registers,
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
