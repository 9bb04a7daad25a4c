import { IngestError } from './ingest-error.js';

export interface AdmissionState {
  closing: boolean;
  /** The ingest connection to Redis is up. */
  redisReady: boolean;
  /** Stored-but-unsettled triggers, all flows, as last read. */
  backlog: number;
  maxBacklog: number;
  retryAfterSeconds: number;
}

/**
 * Whether a checked request may be written now (pure): not while shutting down or while Redis is
 * away (503, at once rather than after a timeout), and not once the backlog has reached its
 * limit (429). Returns the refusal, or undefined to go ahead.
 */
export function refuseAdmission(state: AdmissionState): IngestError | undefined {
  const retryAfterSeconds = state.retryAfterSeconds;
  if (state.closing) {
    return new IngestError(
      503,
      'SHUTTING_DOWN',
      'ingest is shutting down; retry on another instance',
      {
        retryAfterSeconds,
      },
    );
  }
  if (!state.redisReady) {
    return new IngestError(
      503,
      'REDIS_UNAVAILABLE',
      'Redis is unreachable: nothing was stored; retry later',
      { retryAfterSeconds },
    );
  }
  if (state.backlog >= state.maxBacklog) {
    return new IngestError(
      429,
      'BACKLOG_FULL',
      `the backlog (${state.backlog} triggers waiting) is at its limit of ${state.maxBacklog}: nothing was stored; retry later`,
      { retryAfterSeconds },
    );
  }
  return undefined;
}
