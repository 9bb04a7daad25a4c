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
}

/**
 * The newest invoke calls, in arrival order.
 *
 * State: a ring of at most `capacity` records, filled at arrival and updated in place as the call
 * progresses, plus the next sequence number. Transitions: `open` appends (overwriting the oldest
 * once full), `clear` empties the ring but keeps numbering. Trade-off: records are created at
 * arrival, so a reader polling with `since` never misses a call that answers late, at the price
 * of seeing `in-flight` records.
 */
export class CallLog {
  #ring: RecordedCall[] = [];
  #capacity: number;
  /** Index in #ring of the oldest record once the ring is full. */
  #head = 0;
  #nextSeq = 1;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  open(
    flow: string,
    startedAt: number,
    concurrencyAtStart: number,
    userAgent: string | null = null,
  ): RecordedCall {
    const call: RecordedCall = {
      seq: this.#nextSeq++,
      flow,
      startedAt,
      endedAt: null,
      status: 'in-flight',
      inputs: 0,
      succeeded: 0,
      failed: 0,
      concurrencyAtStart,
      userAgent,
    };
    if (this.#ring.length < this.#capacity) {
      this.#ring.push(call);
    } else {
      this.#ring[this.#head] = call;
      this.#head = (this.#head + 1) % this.#capacity;
    }
    return call;
  }

  /** Copies of the kept records with `seq > since`, oldest first. */
  since(since = 0): RecordedCall[] {
    const kept = this.#ring.length;
    const oldestSeq = this.#nextSeq - kept;
    const first = Math.max(0, since + 1 - oldestSeq);
    const out: RecordedCall[] = [];
    for (let i = first; i < kept; i++) {
      const call = this.#ring[(this.#head + i) % kept];
      if (call !== undefined) out.push(copy(call));
    }
    return out;
  }

  clear(): void {
    this.#ring = [];
    this.#head = 0;
  }

  resize(capacity: number): void {
    if (capacity === this.#capacity) return;
    // Keep the live objects, not copies: calls in flight go on updating them.
    const kept = this.#ring.length;
    const ordered: RecordedCall[] = [];
    for (let i = 0; i < kept; i++) {
      const call = this.#ring[(this.#head + i) % kept];
      if (call !== undefined) ordered.push(call);
    }
    this.#ring = ordered.slice(Math.max(0, ordered.length - capacity));
    this.#head = 0;
    this.#capacity = capacity;
  }
}

function copy(call: RecordedCall): RecordedCall {
  const out = { ...call };
  if (call.individualIds !== undefined) out.individualIds = [...call.individualIds];
  return out;
}
