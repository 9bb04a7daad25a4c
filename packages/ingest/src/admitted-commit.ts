import {
  type ChunkItem,
  isProducerClosedError,
  type TriggerCommitter,
  type TriggerReceipt,
} from '@flow-dispatcher/producer';
import { isConfigError } from '@flow-dispatcher/shared';
import { refuseAdmission } from './admission.js';
import { IngestError, isIngestError } from './ingest-error.js';

/** What the admission check and the error mapping read of the running service. */
export interface CommitState {
  closing(): boolean;
  redisReady(): boolean;
  backlog(): number;
  maxBacklog: number;
  retryAfterSeconds: number;
  /** The fleet runs with another QUEUE_PARTITIONS (set once found): every write is refused. */
  misconfigured(): boolean;
  /** Records that the partition check failed on a write (a ConfigError naming QUEUE_PARTITIONS). */
  refuseLayout(err: unknown): void;
}

/**
 * The one way ingest stores triggers: admission first (shutting down, Redis away, backlog full,
 * a partition layout that is not the fleet's), then the committer; whatever goes wrong becomes an
 * IngestError that says whether anything may have been stored.
 */
export function admittedCommit(committer: TriggerCommitter, state: CommitState) {
  return async (flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> => {
    if (state.misconfigured()) throw misconfiguredError();
    const refusal = refuseAdmission({
      closing: state.closing(),
      redisReady: state.redisReady(),
      backlog: state.backlog(),
      maxBacklog: state.maxBacklog,
      retryAfterSeconds: state.retryAfterSeconds,
    });
    if (refusal) throw refusal;
    try {
      return await committer.submit(flow, items);
    } catch (err) {
      if (isIngestError(err)) throw err;
      if (isProducerClosedError(err)) {
        throw new IngestError(503, 'SHUTTING_DOWN', 'ingest is shutting down; retry', {
          retryAfterSeconds: state.retryAfterSeconds,
        });
      }
      if (isConfigError(err)) {
        state.refuseLayout(err);
        throw misconfiguredError();
      }
      const ready = state.redisReady();
      throw new IngestError(
        503,
        ready ? 'WRITE_FAILED' : 'REDIS_UNAVAILABLE',
        // A write cut off by a disconnect may or may not have landed: say so. A retry with the
        // same keys can never store a trigger twice.
        ready
          ? 'the write failed, so the triggers may not be stored; retry (keys make retries safe)'
          : 'Redis became unreachable during the write, so the triggers may not be stored; retry (keys make retries safe)',
        { cause: err, retryAfterSeconds: state.retryAfterSeconds },
      );
    }
  };
}

export function misconfiguredError(): IngestError {
  return new IngestError(
    503,
    'MISCONFIGURED',
    "this ingest's QUEUE_PARTITIONS is not the fleet's, so nothing was stored; it needs its configuration fixed",
  );
}
