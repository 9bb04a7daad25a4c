import { randomBytes } from 'node:crypto';
import type { Logger, Metrics, RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import type { LimitInfo, OrgLimits } from '../types.js';
import { budgetCap, lingerFactor, type Usage } from './budget.js';
import type { CallPermit, CallSlots } from './call-slots.js';
import {
  acquirePermits,
  adjustLimit,
  type PermitVerdict,
  pauseFleet,
  recordUsage,
  releasePermits,
  renewPermits,
} from './fleet-scripts.js';
import type { LimitSignal } from './limit-signals.js';

export interface FleetLimiterOptions {
  /** One server or a Cluster: every key the limiter touches is in partition 0's slot. */
  redis: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: Metrics;
  /** SF_MAX_CONCURRENCY: calls in flight across the fleet, never more. */
  maxConcurrency: number;
  /** SF_DAILY_API_SHARE. */
  dailyApiShare: number;
  /** Reads the org's allocation (GET /limits: it costs one API call). */
  readLimits: () => Promise<OrgLimits>;
  /** How often one worker re-reads the usage while the budget is closed. @defaultValue 300000 */
  budgetProbeMs?: number;
  /**
   * A permit's lease, in Redis's clock; renewed every quarter of it while held, so a dead
   * worker's permits return after it. It must outlast the longest request (see `permitLeaseMs`):
   * a request only starts while its permit is sure to stay counted until the request's deadline.
   */
  leaseMs: number;
  /** Decreases of the concurrency limit closer than this count once. @defaultValue 1000 */
  decreaseCooldownMs?: number;
}

type Reason = PermitVerdict;

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
 * The lease of a call permit for a given request deadline: renewed every quarter of it, a held
 * permit always has three quarters left, which must cover one whole request (queueing, connecting,
 * waiting, reading: `SF_REQUEST_TIMEOUT_MS`) with a few seconds to spare. A dead worker's permits
 * come back after this long.
 */
export function permitLeaseMs(requestTimeoutMs: number): number {
  return Math.ceil((requestTimeoutMs * 4) / 3) + 5_000;
}

/**
 * The fleet's call slots: at most SF_MAX_CONCURRENCY calls in flight across every worker, fewer
 * when the adaptive limit says so, none while the org is paused or the daily budget is spent.
 *
 * State lives in Redis (keys `{prefix}:limits*`), so it holds across processes and survives them:
 * permits are leases in a ZSET (in Redis's clock), renewed by their holder; a SIGKILLed worker's
 * permits expire and return within `leaseMs`. Each process keeps a FIFO of local waiters and asks
 * for as many permits as it has waiters in one script call; it asks again when any worker releases
 * one (pub/sub), when a pause or budget window should have passed, and on a short timer as a
 * safety net.
 *
 * A call in flight always holds a counted permit. Each held permit knows until when it is surely
 * counted (`validUntil`: the time the grant or last confirmed renewal was sent, plus the lease),
 * and a request starts only if its permit `covers` the request's whole deadline, renewing first
 * when it must. A worker cut off from Redis (a failover, a stalled event loop) therefore stops
 * starting calls before its permits can lapse, and a lapsed permit is never added back: its slot
 * may already be someone else's.
 *
 *   waiting ──script: ok──► granted ──release──► (ZREM, publish)
 *      │ └─ busy / paused / budget: wait for a release, the pause end, or the probe
 *      └─ budget closed: one worker (lock) re-reads /limits every budgetProbeMs
 *
 * Trade-off: a Redis round trip to be granted a permit and one to release it, unless a finished
 * call hands its permit straight to the next local waiter (see #permit); cheap next to a
 * Salesforce call, and what buys a limit that holds for the whole fleet.
 */
export class FleetLimiter implements CallSlots {
  readonly #o: Required<FleetLimiterOptions>;
  readonly #holder = randomBytes(6).toString('hex');
  #seq = 0;
  /** Permits held by this process: id → until when it is surely counted (epoch ms, local). */
  readonly #held = new Map<string, HeldPermit>();
  #renewing: Promise<void> | undefined;
  #waiters: ((permit: CallPermit) => void)[] = [];
  #asking = false;
  #askAgain = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #syncTimer: NodeJS.Timeout | undefined;
  #subscriber: RedisConnection | undefined;
  #closed = false;
  #limit: number;
  #usage: Usage | undefined;
  #reason: Reason = 'ok';
  #lastUsageSent = 0;
  #streakKnown = false;
  /** A pause this process knows of (its own signal, another worker's announcement, a refusal). */
  #pausedUntil = 0;

  constructor(options: FleetLimiterOptions) {
    this.#o = {
      budgetProbeMs: 300_000,
      decreaseCooldownMs: 1_000,
      ...options,
    };
    this.#limit = options.maxConcurrency;
  }

  get limit(): number {
    return this.#limit;
  }

  get inUse(): number {
    return this.#held.size;
  }

  /** Why the last request for permits was refused (for logs and tests). */
  get reason(): Reason {
    return this.#reason;
  }

  /** Multiplier for the linger time: calls wait longer to fill as the budget runs out. */
  lingerFactor(): number {
    return lingerFactor(this.#usage, this.#o.dailyApiShare);
  }

  async start(): Promise<void> {
    const { redis, keys } = this.#o;
    this.#subscriber = redis.duplicate();
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('message', (_channel: string, message: string) =>
      this.#onAnnouncement(message),
    );
    await this.#subscriber.subscribe(keys.permitsReleased);
    this.#renewTimer = setInterval(() => void this.#renew(), this.#o.leaseMs / 4);
    this.#syncTimer = setInterval(() => void this.#sync(), 2_000);
    await this.#sync();
    // Learn the allocation before the first call when nobody has yet (GET /limits costs one call;
    // one worker of a fleet starting together does it, the others learn it from Redis).
    if (this.#usage === undefined) await this.#probeUsage(10_000);
  }

  acquire(): Promise<CallPermit> {
    if (this.#closed) return Promise.reject(new Error('limiter closed'));
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#ask();
    });
  }

  #ask(): void {
    if (this.#closed || this.#waiters.length === 0) return;
    if (this.#asking) {
      this.#askAgain = true;
      return;
    }
    this.#asking = true;
    clearTimeout(this.#retryTimer);
    const ids = this.#waiters.map(() => `${this.#holder}:${this.#seq++}`);
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
        ({ granted, verdict: reason, pausedUntil }) => {
          this.#reason = reason;
          if (reason === 'paused') this.#pausedUntil = Math.max(this.#pausedUntil, pausedUntil);
          for (let i = 0; i < granted; i++) {
            const id = ids[i] as string;
            const waiter = this.#waiters.shift();
            const held: HeldPermit = { id, validUntil: sentAt + this.#o.leaseMs, lapsed: false };
            this.#held.set(id, held);
            if (waiter) waiter(this.#permit(held));
            else void this.#release(id);
          }
          if (this.#waiters.length > 0) this.#waitToAsk(reason, pausedUntil);
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
          this.#ask();
        }
      });
  }

  #waitToAsk(reason: Reason, pausedUntil: number, floorMs = 0): void {
    let delay = 250; // safety net: releases are announced on pub/sub, which can be missed
    if (reason === 'paused') delay = Math.max(10, pausedUntil - Date.now());
    if (reason === 'budget') {
      delay = 1_000;
      void this.#probeUsage(this.#o.budgetProbeMs);
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#ask(), Math.max(delay, floorMs));
  }

  /**
   * A finished call's permit goes straight to this process's next waiter when nothing says it
   * should not (no pause known, not above the adaptive limit, far from the budget's edge, lease
   * not lapsed): that saves the release and acquire round trips and keeps the fleet's calls in
   * flight at the cap. The permit stays in the ZSET all along, so the cap holds; near the budget's
   * edge, or above a lowered limit, it goes back to Redis and the next call asks again.
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

  #canHandOver(): boolean {
    if (this.#closed || Date.now() < this.#pausedUntil || this.#held.size > this.#limit)
      return false;
    if (!this.#usage) return false;
    const left = budgetCap(this.#usage, this.#o.dailyApiShare) - 1 - this.#usage.used;
    return left > 4 * this.#o.maxConcurrency;
  }

  /** Messages on the permits channel: a release (try again), a pause, a lowered limit. */
  #onAnnouncement(message: string): void {
    if (message.startsWith('pause:')) {
      this.#pausedUntil = Math.max(this.#pausedUntil, Number(message.slice(6)) || 0);
    } else if (message.startsWith('limit:')) {
      const limit = Number(message.slice(6));
      if (limit >= 1) this.#limit = Math.min(this.#o.maxConcurrency, limit);
    } else {
      this.#ask();
    }
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
      await redis.publish(keys.permitsReleased, '1');
    } catch (err) {
      // The lease expires on its own.
      this.#o.logger.warn({ err }, 'could not release a call permit; its lease will expire');
    }
    this.#ask();
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

  /** Reads the shared state for metrics and the linger factor. */
  async #sync(): Promise<void> {
    try {
      const state = await this.#o.redis.hgetall(this.#o.keys.limits);
      const limit = Number(state.concurrencyLimit);
      this.#limit = Number.isFinite(limit)
        ? Math.max(1, Math.min(this.#o.maxConcurrency, Math.floor(limit)))
        : this.#o.maxConcurrency;
      const used = Number(state.apiUsed);
      const max = Number(state.apiMax);
      if (state.apiUsed !== undefined && Number.isFinite(used) && Number.isFinite(max))
        this.#usage = { used, max };
      this.#streakKnown = Number(state.pauseStreak) > 0;
      this.#publishMetrics();
    } catch {
      // Metrics can wait for the next round.
    }
  }

  #publishMetrics(): void {
    const { metrics } = this.#o;
    metrics.concurrencyLimit.set(this.#limit);
    if (this.#usage && this.#usage.max > 0) {
      metrics.apiUsageRatio.set(this.#usage.used / this.#usage.max);
      metrics.apiBudgetRemaining.set(
        Math.max(0, budgetCap(this.#usage, this.#o.dailyApiShare) - this.#usage.used),
      );
    }
  }

  /**
   * Re-reads the org's usage (GET /limits costs one call): at most once per `everyMs` across the
   * fleet (a lock); the other workers learn the result from Redis.
   */
  async #probeUsage(everyMs: number): Promise<void> {
    const { redis, keys, logger } = this.#o;
    const won = await redis
      .set(keys.limitsProbe, this.#holder, 'PX', everyMs, 'NX')
      .catch(() => null);
    if (won !== 'OK') return;
    // GET /limits is a request like a call: it takes a slot of the fleet's concurrency (not of
    // the budget, which it is there to re-read: the README counts it beyond the share).
    const id = `${this.#holder}:${this.#seq++}`;
    const { granted } = await acquirePermits
      .run(
        redis,
        { permits: keys.permits, limits: keys.limits },
        { now: Date.now(), leaseMs: this.#o.leaseMs, hardMax: this.#o.maxConcurrency, share: -1 },
        { args: [id] },
      )
      .catch(() => ({ granted: 0 }));
    if (granted !== 1) {
      await redis.del(keys.limitsProbe).catch(() => 0); // try again at the next round
      return;
    }
    try {
      const limits = await this.#o.readLimits();
      const { max, remaining } = limits.dailyApiRequests;
      await this.#recordUsage({ used: max - remaining, max }, true);
      logger.info({ apiUsed: max - remaining, apiMax: max }, 'read the org API usage');
    } catch (err) {
      // Past the daily cap every request is refused, /limits included: that answer is a reading
      // too (the cap still holds), not a failure. Keep waiting; the next probe reads it again.
      if ((err as { code?: unknown } | null)?.code === 'daily-limit' && this.#usage) {
        await this.#recordUsage({ used: this.#usage.max, max: this.#usage.max }, true);
        logger.info(
          { apiMax: this.#usage.max },
          'the org API allocation is still spent (GET /limits refused); dispatch keeps waiting',
        );
        return;
      }
      logger.warn(
        { err: { message: err instanceof Error ? err.message : String(err) } },
        'could not read the org API usage; learning it from the next answer',
      );
    } finally {
      await releasePermits
        .run(redis, { permits: keys.permits, limits: keys.limits }, {}, { args: [id] })
        .catch(() => 0);
    }
  }

  async #recordUsage(usage: Usage, force: boolean): Promise<void> {
    this.#usage = usage;
    this.#publishMetrics();
    await recordUsage.run(
      this.#o.redis,
      { limits: this.#o.keys.limits },
      {
        now: Date.now(),
        used: usage.used,
        max: usage.max,
        share: this.#o.dailyApiShare,
        force: force ? '1' : '0',
      },
    );
  }

  /** Learns from one answered call: usage, adaptive limit, pauses. */
  async observe(signal: LimitSignal, limitInfo: LimitInfo | undefined): Promise<void> {
    const { redis, keys, logger, metrics } = this.#o;
    const now = Date.now();
    // Known at once in this process (before the call's permit is released), Redis follows.
    if (signal.pause)
      this.#pausedUntil = Math.max(this.#pausedUntil, now + Math.max(500, signal.pause.minMs));

    if (signal.budgetExhausted && this.#usage)
      this.#usage = { used: this.#usage.max, max: this.#usage.max };
    try {
      // The pause goes first: this is the first command this answer sends, so Redis applies it
      // before the release of the call's permit (sent right after on the same connection), and
      // no other worker is granted a permit in between.
      if (signal.pause) {
        const { pausedUntil, started, streak } = await pauseFleet.run(
          redis,
          { limits: keys.limits },
          { now, cause: signal.pause.cause, minMs: signal.pause.minMs, random: Math.random() },
        );
        this.#pausedUntil = Math.max(this.#pausedUntil, pausedUntil);
        this.#streakKnown = true;
        if (started) {
          metrics.pauses.inc({ cause: signal.pause.cause });
          logger.warn({ cause: signal.pause.cause, streak }, 'pausing every call of the org');
          await redis.publish(keys.permitsReleased, `pause:${pausedUntil}`);
        }
      } else if (signal.healthy && this.#streakKnown) {
        this.#streakKnown = false;
        await redis.hset(keys.limits, 'pauseStreak', 0);
      }
      if (limitInfo?.apiUsage) {
        const usage = limitInfo.apiUsage;
        const nearCap = this.#usage
          ? budgetCap(usage, this.#o.dailyApiShare) - usage.used < this.#o.maxConcurrency * 4
          : true;
        if (nearCap || now - this.#lastUsageSent > 250 || usage.max !== this.#usage?.max) {
          this.#lastUsageSent = now;
          await this.#recordUsage(usage, false);
        } else {
          this.#usage = usage;
        }
      }
      if (signal.budgetExhausted) {
        const max = limitInfo?.apiUsage?.max ?? this.#usage?.max ?? 0;
        await this.#recordUsage({ used: Math.max(max, limitInfo?.apiUsage?.used ?? 0), max }, true);
        logger.warn(
          { apiMax: max },
          'Salesforce says the daily API allocation is spent; dispatch waits for the window to free up',
        );
      }
      if (signal.decrease || (signal.increase && this.#limit < this.#o.maxConcurrency)) {
        const limit = await adjustLimit.run(
          redis,
          { limits: keys.limits },
          {
            now,
            direction: signal.decrease ? 'dec' : 'inc',
            hardMax: this.#o.maxConcurrency,
            decreaseCooldownMs: this.#o.decreaseCooldownMs,
          },
        );
        const next = Math.max(1, Math.floor(limit));
        if (signal.decrease) {
          logger.info({ concurrencyLimit: next }, 'fleet concurrency limit lowered');
          await redis.publish(keys.permitsReleased, `limit:${next}`);
        }
        this.#limit = next;
        metrics.concurrencyLimit.set(next);
      }
    } catch (err) {
      logger.warn({ err }, 'could not update the fleet limits');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#renewTimer);
    clearInterval(this.#syncTimer);
    for (const id of [...this.#held.keys()]) await this.#release(id);
    this.#subscriber?.disconnect();
  }
}
