import { randomBytes } from 'node:crypto';
import {
  type Config,
  defaults,
  type Logger,
  type Metrics,
  type RedisConnection,
  type RedisKeys,
} from '@flow-dispatcher/shared';
import type { LimitInfo, OrgLimits } from '../types.js';
import { CallPermits } from './call-permits.js';
import type { CallPermit, CallSlots } from './call-slots.js';
import { type FleetAnnouncement, FleetAnnouncements } from './fleet-announcements.js';
import { adjustLimit, type PermitVerdict, pauseFleet } from './fleet-scripts.js';
import type { LimitSignal } from './limit-signals.js';
import { UsageBudget } from './usage-budget.js';

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
  /** How often one worker re-reads the usage while the budget is closed (SF_BUDGET_PROBE_MS). */
  budgetProbeMs: number;
  /**
   * A permit's lease, in Redis's clock; renewed every quarter of it while held, so a dead
   * worker's permits return after it. It must outlast the longest request (see `permitLeaseMs`):
   * a request only starts while its permit is sure to stay counted until the request's deadline.
   */
  leaseMs: number;
  /** Decreases of the concurrency limit closer than this count once. */
  decreaseCooldownMs: number;
}

/**
 * The lease of a call permit for a given request deadline: renewed every quarter of it, a held
 * permit always has three quarters left, which must cover one whole request (queueing, connecting,
 * waiting, reading: `SF_REQUEST_TIMEOUT_MS`) with a few seconds to spare. A dead worker's permits
 * come back after this long.
 */
export function permitLeaseMs(requestTimeoutMs: number): number {
  return Math.ceil((requestTimeoutMs * 4) / 3) + 5_000;
}

/** How often the shared limits are re-read (adaptive limit, usage, pause streak) for metrics. */
const SYNC_EVERY_MS = 2_000;

/**
 * The fleet's call slots: at most SF_MAX_CONCURRENCY calls in flight across every worker, fewer
 * when the adaptive limit says so, none while the org is paused or the daily budget is spent.
 *
 * State lives in Redis (keys `{prefix}:limits*`), so it holds across processes and survives them.
 * Three parts, composed here:
 * - CallPermits (call-permits.ts): the permits, leased in Redis's clock, renewed, handed over;
 * - UsageBudget (usage-budget.ts): the org's daily usage, and the GET /limits that re-reads it;
 * - FleetAnnouncements (fleet-announcements.ts): releases, pauses and lowered limits told to the
 *   other workers at once.
 * This class adds what an answered call changes (`observe`: a pause, the adaptive limit, the
 * usage) and a periodic re-read of the shared state for metrics and the linger factor.
 */
export class FleetLimiter implements CallSlots {
  readonly #o: FleetLimiterOptions;
  readonly #announcements: FleetAnnouncements;
  readonly #permits: CallPermits;
  readonly #budget: UsageBudget;
  #syncTimer: NodeJS.Timeout | undefined;
  /** The pause streak in Redis is not 0: a healthy answer resets it. */
  #streakKnown = false;

  constructor(options: FleetLimiterOptions) {
    this.#o = options;
    const { redis, keys, logger, maxConcurrency, dailyApiShare } = this.#o;
    const holder = randomBytes(6).toString('hex');
    this.#announcements = new FleetAnnouncements(redis, keys.permitsReleased);
    this.#permits = new CallPermits({
      redis,
      keys,
      logger,
      announcements: this.#announcements,
      holder,
      maxConcurrency,
      dailyApiShare,
      leaseMs: this.#o.leaseMs,
      budgetAllowsHandOver: () => !this.#budget.nearEdge(),
      onBudgetClosed: () => void this.#budget.probe(this.#o.budgetProbeMs),
    });
    this.#budget = new UsageBudget({
      redis,
      keys,
      logger,
      metrics: this.#o.metrics,
      holder,
      maxConcurrency,
      dailyApiShare,
      readLimits: this.#o.readLimits,
      takeReadPermit: () => this.#permits.takeBudgetReadPermit(),
    });
  }

  get limit(): number {
    return this.#permits.limit;
  }

  get inUse(): number {
    return this.#permits.inUse;
  }

  /** Why the last request for permits was refused (for logs and tests). */
  get reason(): PermitVerdict {
    return this.#permits.verdict;
  }

  /** Multiplier for the linger time: calls wait longer to fill as the budget runs out. */
  lingerFactor(): number {
    return this.#budget.lingerFactor();
  }

  async start(): Promise<void> {
    await this.#announcements.listen((announcement) => this.#onAnnouncement(announcement));
    this.#permits.start();
    this.#syncTimer = setInterval(() => void this.#sync(), SYNC_EVERY_MS);
    await this.#sync();
    // Learn the allocation before the first call when nobody has yet (GET /limits costs one call;
    // one worker of a fleet starting together does it, the others learn it from Redis).
    if (this.#budget.usage === undefined) await this.#budget.probe(10_000);
  }

  acquire(): Promise<CallPermit> {
    return this.#permits.acquire();
  }

  #onAnnouncement(announcement: FleetAnnouncement): void {
    switch (announcement.kind) {
      case 'pause':
        this.#permits.notePause(announcement.until);
        break;
      case 'limit':
        this.#permits.setLimit(announcement.value);
        break;
      case 'release':
        this.#permits.ask();
        break;
    }
  }

  /** Reads the shared state for metrics, the limit and the linger factor. */
  async #sync(): Promise<void> {
    try {
      const state = await this.#o.redis.hgetall(this.#o.keys.limits);
      const limit = Number(state.concurrencyLimit);
      this.#permits.setLimit(Number.isFinite(limit) ? limit : this.#o.maxConcurrency);
      const used = Number(state.apiUsed);
      const max = Number(state.apiMax);
      if (state.apiUsed !== undefined && Number.isFinite(used) && Number.isFinite(max))
        this.#budget.adopt({ used, max });
      this.#streakKnown = Number(state.pauseStreak) > 0;
      this.#o.metrics.concurrencyLimit.set(this.#permits.limit);
      this.#budget.publishMetrics();
    } catch {
      // Metrics can wait for the next round.
    }
  }

  /** Learns from one answered call: usage, adaptive limit, pauses. */
  async observe(signal: LimitSignal, limitInfo: LimitInfo | undefined): Promise<void> {
    const { redis, keys, logger, metrics } = this.#o;
    const now = Date.now();
    // Known at once in this process (before the call's permit is released), Redis follows.
    if (signal.pause) this.#permits.notePause(now + Math.max(500, signal.pause.minMs));
    if (signal.budgetExhausted) this.#budget.markSpent();
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
        this.#permits.notePause(pausedUntil);
        this.#streakKnown = true;
        if (started) {
          metrics.pauses.inc({ cause: signal.pause.cause });
          logger.warn({ cause: signal.pause.cause, streak }, 'pausing every call of the org');
          await this.#announcements.publish({ kind: 'pause', until: pausedUntil });
        }
      } else if (signal.healthy && this.#streakKnown) {
        this.#streakKnown = false;
        await redis.hset(keys.limits, 'pauseStreak', 0);
      }
      if (limitInfo?.apiUsage) await this.#budget.learn(limitInfo.apiUsage, now);
      if (signal.budgetExhausted) await this.#budget.recordSpent(limitInfo);
      if (signal.decrease || (signal.increase && this.#permits.limit < this.#o.maxConcurrency)) {
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
          await this.#announcements.publish({ kind: 'limit', value: next });
        }
        this.#permits.setLimit(next);
        metrics.concurrencyLimit.set(next);
      }
    } catch (err) {
      logger.warn({ err }, 'could not update the fleet limits');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#syncTimer);
    await this.#permits.close();
    this.#announcements.close();
  }
}

/**
 * The fleet limiter of a process configured by `config` (the worker's, and ingest's for its
 * describes): the concurrency cap and daily share of the configuration, permits leased for the
 * configured request deadline, the budget probe and the limit's cooldown from the configuration and
 * `defaults`.
 */
export function fleetLimiterFromConfig(
  config: Config,
  deps: Pick<FleetLimiterOptions, 'redis' | 'keys' | 'logger' | 'metrics' | 'readLimits'>,
): FleetLimiter {
  return new FleetLimiter({
    ...deps,
    maxConcurrency: config.salesforce.maxConcurrency,
    dailyApiShare: config.salesforce.dailyApiShare,
    budgetProbeMs: config.salesforce.budgetProbeMs,
    decreaseCooldownMs: defaults.limitDecreaseCooldownMs,
    // A permit outlives the longest request it may carry (a dead process's come back after it).
    leaseMs: permitLeaseMs(config.salesforce.requestTimeoutMs),
  });
}
