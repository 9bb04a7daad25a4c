/**
 * What Redis remembers of one trigger after Salesforce has been asked about it: a compact JSON
 * value in its chunk's outcome hash (field = index in the chunk). A trigger with no record has not
 * had an answer yet; its chunk job's state says whether it waits or is being dispatched.
 *
 *   (no record) ──call answered──► ok | dead | retry
 *   retry ──next call──► ok | dead | retry
 *   dead ──replayed──► moved (the trigger lives on, same id, in another chunk: `to`)
 */

/** An error as flow-dispatcher reports it: Salesforce's code and message, or our own. */
export interface TriggerError {
  /** Salesforce `statusCode`/`errorCode` (e.g. UNKNOWN_EXCEPTION) or ours (e.g. MAX_ATTEMPTS). */
  code: string;
  message: string;
  /** HTTP status of the call that produced it, when there was one. */
  status?: number;
}

export type TriggerRecord =
  /** Salesforce accepted it: `o` is its `outputValues`, `t` the time of the answer. */
  | { s: 'ok'; a: number; t: number; o: Record<string, unknown> | null }
  /**
   * It failed transiently; `n` is when it may be sent again, `t` the time of the answer (absent
   * in records written before it existed).
   */
  | { s: 'retry'; a: number; t?: number; n: number; e: TriggerError }
  /** Dead-lettered at `t`. */
  | { s: 'dead'; a: number; t: number; e: TriggerError }
  /** Replayed from the dead letters: its current slot is the trigger address `to`. */
  | { s: 'moved'; to: string }
  /** Cancelled before a worker took its chunk (README, "Cancelling"): final, never sent. */
  | { s: 'cancelled'; a: number; t: number };

export type TriggerState =
  | 'scheduled'
  | 'queued'
  | 'dispatching'
  | 'succeeded'
  | 'retrying'
  | 'dead'
  | 'cancelled';

/** The public view of a trigger (`GET /v1/triggers/{id}`). */
export interface TriggerStatus {
  id: string;
  flow: string;
  state: TriggerState;
  /**
   * Counted attempts so far: calls that carried this trigger and succeeded or failed in a way that
   * may be its own (503s, limits and refusals before sending are not counted).
   */
  attempts: number;
  /** Salesforce's `outputValues` once it succeeded. */
  result: Record<string, unknown> | null;
  /** The last error, for `retrying` and `dead`. */
  error: TriggerError | null;
  /** When it was stored (ISO 8601, from its chunk id's time), or null if unknown. */
  enqueuedAt: string | null;
  /** When the last call that carried it was answered (ISO 8601), null before any. */
  lastAttemptAt: string | null;
  /** When it succeeded or was dead-lettered (ISO 8601), null while it is not settled. */
  settledAt: string | null;
}

export function encodeTriggerRecord(record: TriggerRecord): string {
  return JSON.stringify(record);
}

const RECORD_KINDS = new Set(['ok', 'retry', 'dead', 'moved', 'cancelled']);

export function decodeTriggerRecord(raw: string | null | undefined): TriggerRecord | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as TriggerRecord;
    return value && RECORD_KINDS.has(value.s) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function isTerminal(record: TriggerRecord | undefined): boolean {
  return record !== undefined && record.s !== 'retry';
}

/** BullMQ job states as `Job.getState()` reports them. */
export type ChunkJobState =
  | 'waiting'
  | 'wait'
  | 'prioritized'
  | 'paused'
  | 'active'
  | 'delayed'
  | 'completed'
  | 'failed'
  | 'waiting-children'
  | 'unknown';

/**
 * The public state of a trigger from its record and its chunk job's state (pure).
 * Returns undefined when neither exists (unknown id, or its retention expired).
 */
export function deriveTriggerState(
  record: Exclude<TriggerRecord, { s: 'moved' }> | undefined,
  jobState: ChunkJobState | undefined,
): TriggerState | undefined {
  if (record?.s === 'ok') return 'succeeded';
  if (record?.s === 'dead') return 'dead';
  if (record?.s === 'cancelled') return 'cancelled';
  const job = jobState === 'unknown' ? undefined : jobState;
  if (record?.s === 'retry') return job === 'active' ? 'dispatching' : 'retrying';
  if (job === undefined) return undefined;
  if (job === 'active') return 'dispatching';
  // A chunk BullMQ itself failed (stalled too often) keeps its triggers in Redis, but nothing will
  // send them until an operator retries the job: report them as dead.
  if (job === 'failed') return 'dead';
  if (job === 'completed') return undefined;
  return 'queued';
}

export function toTriggerStatus(
  id: string,
  flow: string,
  record: Exclude<TriggerRecord, { s: 'moved' }> | undefined,
  state: TriggerState,
  enqueuedAt?: number,
): TriggerStatus {
  const settled = record && record.s !== 'retry' ? record.t : undefined;
  // A dead letter with no counted attempt (never answered for itself) has no last attempt; a
  // cancelled trigger's time is when it was cancelled, not an attempt.
  const lastAttempt =
    record && record.s !== 'cancelled' && (record.s !== 'dead' || record.a > 0)
      ? record.t
      : undefined;
  return {
    id,
    flow,
    state,
    attempts: record?.a ?? 0,
    result: record?.s === 'ok' ? record.o : null,
    error: record && (record.s === 'retry' || record.s === 'dead') ? record.e : null,
    enqueuedAt: isoTime(enqueuedAt),
    lastAttemptAt: isoTime(lastAttempt),
    settledAt: isoTime(settled),
  };
}

function isoTime(ms: number | undefined): string | null {
  return ms !== undefined && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
