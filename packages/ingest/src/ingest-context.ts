import type { ChunkItem, Producer, TriggerReceipt } from '@flow-dispatcher/producer';
import type { InputLimits, Metrics } from '@flow-dispatcher/shared';
import type { BearerTokens } from './bearer-auth.js';
import type { DescribeCache } from './describe-cache.js';
import type { IngestMetrics } from './ingest-metrics.js';

/** What the routes share: limits, the describe cache, and the one way to store triggers. */
export interface IngestContext {
  limits: { maxTriggers: number; inputLimits: InputLimits };
  describes: DescribeCache;
  producer: Producer;
  metrics: Metrics;
  ingestMetrics: IngestMetrics;
  /** undefined when INGEST_AUTH=none. */
  tokens: BearerTokens | undefined;
  /**
   * Admission (shutting down, Redis away, backlog full) then the committer: resolves with one
   * receipt per item once stored; throws an IngestError with nothing reported as stored.
   */
  commit(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]>;
  /** Redis answers a PING within a short deadline. */
  redisAnswers(): Promise<boolean>;
  redisReady(): boolean;
  closing(): boolean;
  /** The fleet runs with another QUEUE_PARTITIONS: every write is refused. */
  misconfigured(): boolean;
}
