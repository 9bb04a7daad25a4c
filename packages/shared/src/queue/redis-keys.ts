/**
 * Every Redis key flow-dispatcher owns, in one place.
 *
 * All keys share the hash tag `{prefix}` so that a Redis Cluster keeps them in one slot: the
 * idempotency check, the chunk write and the flow registry run in one transaction, and the
 * fleet-wide limit scripts touch several keys at once.
 *
 * BullMQ queues (one per flow, the queue name is the flow API name) live under `{prefix}:q`.
 * Flow names cannot contain ':' or start with '_', so nothing we own can collide with them.
 */
export class RedisKeys {
  /** The hash-tagged root, e.g. `{fd}`. */
  readonly root: string;
  /** BullMQ's `prefix` option: queue keys are `{fd}:q:<flow>:wait` and so on. */
  readonly bullPrefix: string;
  /** SET of flow names that have ever had triggers enqueued; workers consume each one. */
  readonly flows: string;
  /** ZSET of dead-lettered trigger ids, scored by the time they died (epoch ms). */
  readonly deadLetters: string;
  /** HASH trigger id → dead-letter record (JSON). */
  readonly deadLetterItems: string;
  /**
   * HASH flow → triggers stored and not yet settled (succeeded or dead-lettered): the backlog in
   * triggers, whatever the chunk sizes. Producers add in the transaction that stores a chunk;
   * workers subtract in the transaction that records outcomes.
   */
  readonly pending: string;
  /**
   * HASH of the fleet-wide limits (see the worker's FleetLimiter): concurrencyLimit (adaptive),
   * inflight, pausedUntil, pauseCause, pauseStreak, apiUsed, apiMax, usageAt, budgetCalls.
   */
  readonly limits: string;
  /** ZSET of call permits held across the fleet, scored by lease expiry (epoch ms). */
  readonly permits: string;
  /** Pub/sub channel: a permit was released, waiters may try again. */
  readonly permitsReleased: string;
  /** STRING lock: which worker re-reads the org's API usage while the budget is closed. */
  readonly limitsProbe: string;
  /** STRING: the fleet's Salesforce access token (JSON), shared so one refresh serves everyone. */
  readonly token: string;
  /** STRING lock held by the worker minting a new token. */
  readonly tokenLock: string;
  /**
   * STRING, present while the whole fleet is paused (`flow-dispatcher pause` without a flow):
   * workers pause every flow they discover while it exists. Each known flow's BullMQ queue is
   * paused as well; `resume` deletes this key and resumes them.
   */
  readonly pausedAll: string;

  constructor(readonly prefix: string) {
    this.root = `{${prefix}}`;
    this.bullPrefix = `${this.root}:q`;
    this.flows = `${this.root}:flows`;
    this.deadLetters = `${this.root}:dlq`;
    this.deadLetterItems = `${this.root}:dlq:items`;
    this.pending = `${this.root}:pending`;
    this.limits = `${this.root}:limits`;
    this.permits = `${this.root}:limits:permits`;
    this.permitsReleased = `${this.root}:limits:released`;
    this.limitsProbe = `${this.root}:limits:probe`;
    this.token = `${this.root}:token`;
    this.tokenLock = `${this.root}:token:lock`;
    this.pausedAll = `${this.root}:paused`;
  }

  /**
   * The per-flow circuit breaker's state: present while the flow's circuit is open (workers stop
   * calling a flow that keeps failing); `flow-dispatcher resume FLOW` deletes it.
   */
  circuit(flow: string): string {
    return `${this.root}:circuit:${flow}`;
  }

  /**
   * HASH of fleet activity in the 10-second window starting at `bucketStartSec` (epoch seconds,
   * a multiple of 10): succeeded, retried, dead, calls, inputs, `status:<http status>`. Every
   * worker adds to it once a second; it expires after an hour.
   */
  stats(bucketStartSec: number): string {
    return `${this.root}:stats:${bucketStartSec}`;
  }

  /** HASH chunk index → trigger record (JSON) of one chunk job. */
  outcomes(chunkId: string): string {
    return `${this.root}:out:${chunkId}`;
  }

  /** STRING idempotency key → trigger id, expiring after the idempotency window. */
  idempotency(flow: string, key: string): string {
    return `${this.root}:idem:${flow}:${key}`;
  }

  /** Key of a BullMQ job hash of the flow's queue (for existence checks). */
  job(flow: string, chunkId: string): string {
    return `${this.bullPrefix}:${flow}:${chunkId}`;
  }
}
