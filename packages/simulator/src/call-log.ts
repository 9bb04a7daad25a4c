import { RingLog } from './ring-log.js';

/** How an invoke call ended: an HTTP status, or what happened instead of an answer. */
export type CallStatus = number | 'reset' | 'hang' | 'aborted' | 'in-flight';

/** One `POST /services/data/vXX.X/actions/custom/flow/{flow}`, whatever became of it. */
export interface RecordedCall {
  /** Arrival order, from 1; keeps growing across `reset()`. */
  seq: number;
  flow: string;
  /** Epoch ms of arrival. */
  startedAt: number;
  /** Epoch ms the answer was written (or the socket destroyed); null while in flight or hanging. */
  endedAt: number | null;
  /**
   * HTTP status sent; `reset`: socket destroyed unanswered; `hang`: inputs ran but the answer was
   * held back; `aborted`: the client left before the answer; `in-flight`: not answered yet.
   */
  status: CallStatus;
  /** Inputs in the body (0 when it was refused before the body was read). */
  inputs: number;
  succeeded: number;
  failed: number;
  /** Invoke calls open at arrival, this one included. */
  concurrencyAtStart: number;
  /** The request's User-Agent header, null without one: which client (worker) made the call. */
  userAgent: string | null;
  /** Each input's IndividualId in order, only with `recordInputs: true`. */
  individualIds?: string[];
  /** Present when the call's shared transaction broke a governor limit and rolled back. */
  rolledBack?: true;
}

/**
 * The newest invoke calls, in arrival order: a `RingLog` (see there for states and trade-off) of
 * records made when a call arrives and updated in place as it progresses.
 */
export class CallLog {
  readonly #log: RingLog<RecordedCall>;

  constructor(capacity: number) {
    this.#log = new RingLog(capacity, copy);
  }

  open(
    flow: string,
    startedAt: number,
    concurrencyAtStart: number,
    userAgent: string | null = null,
  ): RecordedCall {
    return this.#log.append((seq) => ({
      seq,
      flow,
      startedAt,
      endedAt: null,
      status: 'in-flight',
      inputs: 0,
      succeeded: 0,
      failed: 0,
      concurrencyAtStart,
      userAgent,
    }));
  }

  /** Copies of the kept records with `seq > since`, oldest first. */
  since(since = 0): RecordedCall[] {
    return this.#log.since(since);
  }

  clear(): void {
    this.#log.clear();
  }

  resize(capacity: number): void {
    this.#log.resize(capacity);
  }
}

function copy(call: RecordedCall): RecordedCall {
  const out = { ...call };
  if (call.individualIds !== undefined) out.individualIds = [...call.individualIds];
  return out;
}
