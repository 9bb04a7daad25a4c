import { partitionRoots } from './queue-partitions.js';

/** Width of a fleet stats bucket (`RedisKeys.stats`), in seconds: workers write, `stats` reads. */
export const STATS_BUCKET_SECONDS = 10;

/**
 * Every Redis key flow-dispatcher owns, in one place.
 *
 * Keys are hash-tagged so that a Redis Cluster keeps together what is written together. There are
 * QUEUE_PARTITIONS partitions (see queue-partitions.ts); partition 0's root is `{prefix}`, the
 * others' roots are chosen to fall on other slots (other masters of a cluster):
 *
 * - per partition (one slot each): the BullMQ queues, the flow registry, the pending counter,
 *   the outcome hashes, the idempotency keys and the dead letters: the idempotency check, the
 *   chunk write and the flow registry run in one transaction, and so do a call's outcomes, its
 *   dead letters and the pending count;
 * - fleet-wide, always under partition 0's `{prefix}` (one slot): the limits, permits and their
 *   channel, the token, the fleet pause, the circuits and the stats buckets; the limit scripts
 *   touch several of them at once.
 *
 * An instance holds one partition's keys (`partition`) and the fleet-wide ones; `forPartition(p)`
 * and `allPartitions` give the others. `new RedisKeys(prefix)` is partition 0 of one partition:
 * exactly the keys of a deployment that never set QUEUE_PARTITIONS.
 *
 * BullMQ queues (one per flow, the queue name is the flow API name) live under `<root>:q`.
 * Flow names cannot contain ':' or start with '_', so nothing we own can collide with them.
 */
export class RedisKeys {
  /** The hash-tagged root of this partition, e.g. `{fd}` or `{fd.p1.0}`. */
  readonly root: string;
  /** The fleet-wide root: partition 0's, `{prefix}`. */
  readonly fleetRoot: string;
  /** Which partition these keys are (0 to partitionCount − 1). */
  readonly partition: number;
  /** QUEUE_PARTITIONS. */
  readonly partitionCount: number;

  // Per partition.
  /** BullMQ's `prefix` option: queue keys are `{fd}:q:<flow>:wait` and so on. */
  readonly bullPrefix: string;
  /** SET of flow names that have ever had triggers enqueued in this partition; workers consume each one. */
  readonly flows: string;
  /** ZSET of dead-lettered trigger ids, scored by the time they died (epoch ms). */
  readonly deadLetters: string;
  /** HASH trigger id → dead-letter record (JSON). */
  readonly deadLetterItems: string;
  /**
   * STRING counter, bumped by every transaction that takes dead letters out (replay, purge). Those
   * transactions WATCH it before reading the letters they act on, so two of them can never both
   * act on one letter; workers only add letters and leave it alone, so they never make a replay
   * retry. Anything else that removes dead letters must bump it too.
   */
  readonly deadLetterEpoch: string;
  /**
   * HASH flow → triggers stored and not yet settled (succeeded or dead-lettered): the backlog in
   * triggers, whatever the chunk sizes. Producers add in the transaction that stores a chunk;
   * workers subtract in the transaction that records outcomes.
   */
  readonly pending: string;
  /**
   * HASH `source:flow` → triggers ever stored (duplicates excluded), by where they came from
   * (library, ingest, cli, replay). Bumped in the transaction that stores a chunk, by the same
   * script as `pending`; workers export it as `flow_dispatcher_triggers_enqueued_total`.
   */
  readonly enqueued: string;
  /**
   * STREAM of outcome events: one entry per settled trigger of this partition (and per retry with
   * OUTCOME_EVENTS=all), appended by the script that writes the outcome record (see
   * outcome-events.ts). Not `…:events`, the suffix of BullMQ's own per-queue streams.
   */
  readonly outcomeEvents: string;
  /**
   * HASH flow → triggers of `pending` that are scheduled and whose chunk no worker has taken yet
   * (README, "Scheduled triggers"): backlog metrics and ingest's admission subtract them.
   */
  readonly scheduled: string;

  // Fleet-wide (partition 0's slot, whatever this instance's partition).
  /**
   * HASH of the fleet-wide limits (see the worker's FleetLimiter): concurrencyLimit (adaptive),
   * inflight, pausedUntil, pauseCause, pauseStreak, apiUsed, apiMax, usageAt, budgetCalls.
   */
  readonly limits: string;
  /** ZSET of call permits held across the fleet, scored by lease expiry (epoch ms). */
  readonly permits: string;
  /** Pub/sub channel: a permit was released, waiters may try again. */
  readonly permitsReleased: string;
  /**
   * Pub/sub channel: a flow was held or released (by a worker, a probe or `resume`), so every
   * worker re-reads the holds at once instead of at its next poll. Fleet-wide.
   */
  readonly holdsChanged: string;
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
  /**
   * HASH flow → its pace (JSON `{"perSecond","windowMs"}`, see flow-pace.ts), for every paced
   * flow: `flow-dispatcher pace` writes it, workers read it every second and their token-bucket
   * script reads it at every call. Fleet-wide.
   */
  readonly paces: string;
  /**
   * STRING: the QUEUE_PARTITIONS the fleet last ran with. A worker started with another count
   * refuses to start while triggers wait in partitions the new count does not have.
   */
  readonly partitionLayout: string;

  readonly #all: RedisKeys[];

  /**
   * Partition 0's keys (and the fleet's) of a deployment with `partitions` partitions.
   * @param partitions QUEUE_PARTITIONS. @defaultValue 1
   */
  constructor(
    readonly prefix: string,
    partitions = 1,
    /** @internal the other partitions are built by partition 0 */
    sibling?: { partition: number; root: string; all: RedisKeys[] },
  ) {
    const roots = sibling ? [] : partitionRoots(prefix, partitions);
    this.partition = sibling?.partition ?? 0;
    this.partitionCount = partitions;
    this.root = sibling?.root ?? (roots[0] as string);
    this.fleetRoot = `{${prefix}}`;
    this.#all = sibling?.all ?? [this];
    if (!sibling) {
      for (let p = 1; p < partitions; p++) {
        this.#all.push(
          new RedisKeys(prefix, partitions, {
            partition: p,
            root: roots[p] as string,
            all: this.#all,
          }),
        );
      }
    }

    this.bullPrefix = `${this.root}:q`;
    this.flows = `${this.root}:flows`;
    this.deadLetters = `${this.root}:dlq`;
    this.deadLetterItems = `${this.root}:dlq:items`;
    this.deadLetterEpoch = `${this.root}:dlq:epoch`;
    this.pending = `${this.root}:pending`;
    this.enqueued = `${this.root}:enqueued`;
    this.outcomeEvents = `${this.root}:outcome-events`;
    this.scheduled = `${this.root}:scheduled`;

    const fleet = this.fleetRoot;
    this.limits = `${fleet}:limits`;
    this.permits = `${fleet}:limits:permits`;
    this.permitsReleased = `${fleet}:limits:released`;
    this.holdsChanged = `${fleet}:holds:changed`;
    this.limitsProbe = `${fleet}:limits:probe`;
    this.token = `${fleet}:token`;
    this.tokenLock = `${fleet}:token:lock`;
    this.pausedAll = `${fleet}:paused`;
    this.paces = `${fleet}:paces`;
    this.partitionLayout = `${fleet}:partitions`;
  }

  /** Partition `partition`'s keys of a deployment with `count` partitions. */
  static forPartition(prefix: string, partition: number, count: number): RedisKeys {
    return new RedisKeys(prefix, count).forPartition(partition);
  }

  /** The keys of partition `partition` of this deployment; a RangeError when there is no such partition. */
  forPartition(partition: number): RedisKeys {
    const keys = this.#all[partition];
    if (!keys) {
      throw new RangeError(
        `no partition ${partition}: QUEUE_PARTITIONS is ${this.partitionCount} (partitions 0 to ${this.partitionCount - 1})`,
      );
    }
    return keys;
  }

  /** Every partition's keys, by partition. */
  get allPartitions(): readonly RedisKeys[] {
    return this.#all;
  }

  /** Partition 0's keys, which also name the fleet-wide state. */
  get fleet(): RedisKeys {
    return this.#all[0] as RedisKeys;
  }

  /**
   * STRING (JSON) present while the flow is held (fleet-wide): Salesforce said it is missing (404)
   * or refused it (403), or its breaker tripped on a systematic input error. Workers stop calling
   * the flow; its triggers wait. Named `circuit` since the first hold was the 404 circuit.
   * `flow-dispatcher resume FLOW` deletes it.
   */
  circuit(flow: string): string {
    return `${this.fleetRoot}:circuit:${flow}`;
  }

  /**
   * HASH {tokens, at} of a paced flow's token bucket (fleet-wide, beside `paces`): the inputs it
   * may still send now, as of `at` (Redis's clock, epoch ms). Expires after a minute unused.
   */
  paceBucket(flow: string): string {
    return `${this.fleetRoot}:pace:${flow}`;
  }

  /**
   * STRING (JSON) present while every flow is held: Salesforce refused the org as a whole (403
   * API_DISABLED_FOR_ORG). `flow-dispatcher resume` (no flow) deletes it.
   */
  get fleetHold(): string {
    return `${this.fleetRoot}:hold`;
  }

  /**
   * HASH of fleet activity in the 10-second window starting at `bucketStartSec` (epoch seconds,
   * a multiple of 10): succeeded, retried, dead, calls, inputs, `status:<http status>`. Every
   * worker adds to it once a second; it expires after an hour. Fleet-wide.
   */
  stats(bucketStartSec: number): string {
    return `${this.fleetRoot}:stats:${bucketStartSec}`;
  }

  /**
   * STRING: the scheduled triggers of a chunk still counted in `scheduled`; the worker that takes
   * the chunk deletes it and subtracts them, once.
   */
  scheduleMark(chunkId: string): string {
    return `${this.root}:sched:${chunkId}`;
  }

  /** HASH chunk index → trigger record (JSON) of one chunk job of this partition. */
  outcomes(chunkId: string): string {
    return `${this.root}:out:${chunkId}`;
  }

  /** STRING idempotency key → trigger id, expiring after the idempotency window (this partition). */
  idempotency(flow: string, key: string): string {
    return `${this.root}:idem:${flow}:${key}`;
  }

  /** Key of a BullMQ job hash of the flow's queue in this partition (for existence checks). */
  job(flow: string, chunkId: string): string {
    return `${this.bullPrefix}:${flow}:${chunkId}`;
  }
}
