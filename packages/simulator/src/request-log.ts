import type { RequestKind } from './request-kind.js';
import { RingLog } from './ring-log.js';

/** One request to the simulator's Salesforce endpoints (token, /services/data), of any kind. */
export interface RecordedRequest {
  /** Arrival order, from 1; keeps growing across `reset()`. Its own numbering, not `calls()`'s. */
  seq: number;
  kind: RequestKind;
  method: string;
  /** The flow of an invoke or a describe; null for the other kinds. */
  flow: string | null;
  /** Epoch ms of arrival. */
  at: number;
  /** HTTP status answered; null until an answer is written (and for ever after a reset). */
  status: number | null;
}

/**
 * The newest requests of every kind, in arrival order: a `RingLog` (see there for states and
 * trade-off) of records made when a request arrives, completed with the status it is answered.
 */
export class RequestLog {
  readonly #log: RingLog<RecordedRequest>;

  constructor(capacity: number) {
    this.#log = new RingLog(capacity, (request) => ({ ...request }));
  }

  open(kind: RequestKind, method: string, flow: string | null, at: number): RecordedRequest {
    return this.#log.append((seq) => ({ seq, kind, method, flow, at, status: null }));
  }

  /** Copies of the kept records with `seq > since`, oldest first. */
  since(since = 0): RecordedRequest[] {
    return this.#log.since(since);
  }

  clear(): void {
    this.#log.clear();
  }

  resize(capacity: number): void {
    this.#log.resize(capacity);
  }
}
