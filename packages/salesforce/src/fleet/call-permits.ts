import type { Logger, RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import type { CallPermit } from './call-slots.js';
import type { FleetAnnouncements } from './fleet-announcements.js';
import {
  acquirePermits,
  type PermitVerdict,
  releasePermits,
  renewPermits,
} from './fleet-scripts.js';

export interface CallPermitsOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  /** Where releases are announced to the other workers. */
  announcements: FleetAnnouncements;
  /** This process's id in the fleet: permit ids start with it. */
  holder: string;
  /** SF_MAX_CONCURRENCY. */
  maxConcurrency: number;
  /** SF_DAILY_API_SHARE: the acquire script grants within it. */
  dailyApiShare: number;
  /** A permit's lease, in Redis's clock (see FleetLimiterOptions.leaseMs). */
  leaseMs: number;
  /** Whether the budget lets a finished call's permit go straight to the next local call. */
  budgetAllowsHandOver: () => boolean;
  /** The acquire script refused for the budget: the budget should be re-read. */
  onBudgetClosed: () => void;
}

/** A permit this process holds. */
interface HeldPermit {
  id: string;
  /** Epoch ms (this process's clock) until which the fleet surely counts it. */
  validUntil: number;
  /** Its lease ran out before a renewal was confirmed: it is not counted any more. */
  lapsed: boolean;
}

/** How long a request waits for its permit's renewal before it gives up (and is not sent). */
const RENEW_WAIT_MS = 2_000;

/**
 * The fleet's call permits: leases in a Redis ZSET (`keys.permits`, in Redis's clock), granted
 * by the acquire script within the concurrency limit, the pause and the daily budget, renewed by
 * their holder, released when the call is done. A SIGKILLed worker's permits expire and return
 * within `leaseMs`.
 *
 *   waiting ──acquire script: ok──► held ──release──► (ZREM, announced)
 *      │ └─ busy / paused / budget: wait for a release, the pause's end, or the budget probe
 *   held ──lease runs out unrenewed──► lapsed (never added back: its slot may be someone else's)
 *   held ──release, a local waiter, nothing against it──► held by that waiter (hand-over)
 *
 * Each process keeps a FIFO of local waiters and asks for as many permits as it has waiters in one
 * script call; it asks again when any worker releases one (announced), when a pause or budget
 * window should have passed, and on a short timer as a safety net.
 *
 * A call in flight always holds a counted permit. Each held permit knows until when it is surely
 * counted (`validUntil`: the time the grant or last confirmed renewal was sent, plus the lease),
 * and a request starts only if its permit `covers` the request's whole deadline, renewing first
 * when it must. A worker cut off from Redis (a failover, a stalled event loop) therefore stops
 * starting calls before its permits can lapse.
 *
 * Trade-off: a Redis round trip to be granted a permit and one to release it, unless a finished
 * call hands its permit straight to the next local waiter (see #permit); cheap next to a
 * Salesforce call, and what buys a limit that holds for the whole fleet.
 */
export class CallPermits {
  readonly #o: CallPermitsOptions;
  #seq = 0;
  readonly #held = new Map<string, HeldPermit>();
  #renewing: Promise<void> | undefined;
  #waiters: ((permit: CallPermit) => void)[] = [];
  #asking = false;
  #askAgain = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #limit: number;
  #verdict: PermitVerdict = 'ok';
  /** A pause this process knows of (its own signal, another worker's announcement, a refusal). */
  #pausedUntil = 0;

  constructor(options: CallPermitsOptions) {
    this.#o = options;
    this.#limit = options.maxConcurrency;
  }

  /** The fleet's adaptive concurrency limit as this process last learnt it. */
  get limit(): number {
    return this.#limit;
  }

  /** Permits held by this process (calls in flight through it). */
  get inUse(): number {
    return this.#held.size;
  }

  /** Why the last request for permits was refused, or `ok`. */
  get verdict(): PermitVerdict {
    return this.#verdict;
  }

  /** Takes a limit learnt from Redis or an announcement (kept within 1..maxConcurrency). */
  setLimit(limit: number): void {
    this.#limit = Math.max(1, Math.min(this.#o.maxConcurrency, Math.floor(limit)));
  }

  /** Takes a pause learnt from an answer, an announcement or Redis. */
  notePause(until: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, until);
  }

  /** Starts renewing held permits, every quarter lease. */
  start(): void {
    this.#renewTimer = setInterval(() => void this.#renew(), this.#o.leaseMs / 4);
  }

  acquire(): Promise<CallPermit> {
    if (this.#closed) return Promise.reject(new Error('limiter closed'));
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.ask();
    });
  }

  /** Asks Redis for a permit per local waiter (at most one request in flight). */
  ask(): void {
    if (this.#closed || this.#waiters.length === 0) return;
    if (this.#asking) {
      this.#askAgain = true;
      return;
    }
    this.#asking = true;
    clearTimeout(this.#retryTimer);
    const ids = this.#waiters.map(() => this.#newId());
    const { redis, keys } = this.#o;
    const sentAt = Date.now();
    acquirePermits
      .run(
        redis,
        { permits: keys.permits, limits: keys.limits },
        {
          now: Date.now(),
          leaseMs: this.#o.leaseMs,
          hardMax: this.#o.maxConcurrency,
          share: this.#o.dailyApiShare,
        },
        { args: ids },
      )
      .then(
        ({ granted, verdict, pausedUntil }) => {
          this.#verdict = verdict;
          if (verdict === 'paused') this.notePause(pausedUntil);
          for (let i = 0; i < granted; i++) {
            const id = ids[i] as string;
            const waiter = this.#waiters.shift();
            const held: HeldPermit = { id, validUntil: sentAt + this.#o.leaseMs, lapsed: false };
            this.#held.set(id, held);
            if (waiter) waiter(this.#permit(held));
            else void this.#release(id);
          }
          if (this.#waiters.length > 0) this.#waitToAsk(verdict, pausedUntil);
        },
        (err) => {
          this.#o.logger.warn({ err }, 'could not ask Redis for call permits; retrying');
          this.#waitToAsk('busy', 0, 500);
        },
      )
      .finally(() => {
        this.#asking = false;
        if (this.#askAgain) {
          this.#askAgain = false;
          this.ask();
        }
      });
  }

  #newId(): string {
    return `${this.#o.holder}:${this.#seq++}`;
  }

  #waitToAsk(verdict: PermitVerdict, pausedUntil: number, floorMs = 0): void {
    let delay = 250; // safety net: releases are announced on pub/sub, which can be missed
    if (verdict === 'paused') delay = Math.max(10, pausedUntil - Date.now());
    if (verdict === 'budget') {
      delay = 1_000;
      this.#o.onBudgetClosed();
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.ask(), Math.max(delay, floorMs));
  }

  /**
   * A finished call's permit goes straight to this process's next waiter when nothing says it
   * should not (no pause known, not above the adaptive limit, the budget far from its edge, lease
   * not lapsed): that saves the release and acquire round trips and keeps the fleet's calls in
   * flight at the cap. The permit stays in the ZSET all along, so the cap holds; otherwise it goes
   * back to Redis and the next call asks again.
   */
  #permit(held: HeldPermit): CallPermit {
    let released = false;
    return {
      covers: (durationMs) => this.#covers(held, durationMs),
      release: () => {
        if (released) return;
        released = true;
        const next =
          this.#waiters.length > 0 && !held.lapsed && this.#canHandOver()
            ? this.#waiters.shift()
            : undefined;
        if (next) next(this.#permit(held));
        else void this.#release(held.id);
      },
    };
  }

  #canHandOver(): boolean {
    if (this.#closed || Date.now() < this.#pausedUntil || this.#held.size > this.#limit)
      return false;
    return this.#o.budgetAllowsHandOver();
  }

  /**
   * Whether `held` is surely counted for `durationMs` from now; renews it first when its known
   * lease is too short (a renewal that Redis does not confirm within a few seconds counts as no).
   */
  async #covers(held: HeldPermit, durationMs: number): Promise<boolean> {
    const enough = () => !held.lapsed && Date.now() + durationMs <= held.validUntil;
    if (enough() || held.lapsed) return enough();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RENEW_WAIT_MS);
    });
    await Promise.race([this.#renew(), timeout]);
    clearTimeout(timer);
    return enough();
  }

  async #release(id: string): Promise<void> {
    this.#held.delete(id);
    const { redis, keys } = this.#o;
    try {
      await releasePermits.run(
        redis,
        { permits: keys.permits, limits: keys.limits },
        {},
        { args: [id] },
      );
      await this.#o.announcements.publish({ kind: 'release' });
    } catch (err) {
      // The lease expires on its own.
      this.#o.logger.warn({ err }, 'could not release a call permit; its lease will expire');
    }
    this.ask();
  }

  /** Renews every held permit (one script); concurrent callers share the renewal in flight. */
  #renew(): Promise<void> {
    this.#renewing ??= this.#renewHeld().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  async #renewHeld(): Promise<void> {
    const held = [...this.#held.values()].filter((permit) => !permit.lapsed);
    if (held.length === 0) return;
    const sentAt = Date.now();
    try {
      const renewed = await renewPermits.run(
        this.#o.redis,
        { permits: this.#o.keys.permits },
        { leaseMs: this.#o.leaseMs },
        { args: held.map((permit) => permit.id) },
      );
      held.forEach((permit, i) => {
        if (renewed[i] === true) {
          permit.validUntil = Math.max(permit.validUntil, sentAt + this.#o.leaseMs);
        } else if (!permit.lapsed) {
          permit.lapsed = true;
          this.#o.logger.warn(
            { permit: permit.id },
            'a call permit lapsed (Redis was out of reach longer than its lease); no request starts under it',
          );
        }
      });
    } catch (err) {
      this.#o.logger.warn({ err }, 'could not renew call permits');
    }
  }

  /**
   * One permit for the request that re-reads the budget (GET /limits), taken at once or not at
   * all: it counts against the fleet's concurrency and pauses but not against the budget it is
   * there to re-read (share -1). Answers its release, or undefined when none was free.
   */
  async takeBudgetReadPermit(): Promise<(() => Promise<void>) | undefined> {
    const { redis, keys } = this.#o;
    const id = this.#newId();
    const { granted } = await acquirePermits
      .run(
        redis,
        { permits: keys.permits, limits: keys.limits },
        { now: Date.now(), leaseMs: this.#o.leaseMs, hardMax: this.#o.maxConcurrency, share: -1 },
        { args: [id] },
      )
      .catch(() => ({ granted: 0 }));
    if (granted !== 1) return undefined;
    return async () => {
      await releasePermits
        .run(redis, { permits: keys.permits, limits: keys.limits }, {}, { args: [id] })
        .catch(() => 0);
    };
  }

  /** Stops asking and renewing, and releases every permit still held. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#renewTimer);
    for (const id of [...this.#held.keys()]) await this.#release(id);
  }
}
