import type { Logger, Metrics, RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import type { LimitInfo, OrgLimits } from '../types.js';
import { budgetCap, lingerFactor, nearBudgetEdge, type Usage } from './budget.js';
import { recordUsage } from './fleet-scripts.js';

export interface UsageBudgetOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: Metrics;
  /** This process's id in the fleet (the probe lock's value). */
  holder: string;
  /** SF_MAX_CONCURRENCY: the budget's edge is counted in rounds of it (see nearBudgetEdge). */
  maxConcurrency: number;
  /** SF_DAILY_API_SHARE. */
  dailyApiShare: number;
  /** Reads the org's allocation (GET /limits: it costs one API call). */
  readLimits: () => Promise<OrgLimits>;
  /**
   * A permit for the GET /limits request, taken at once or not at all; answers its release.
   * (CallPermits.takeBudgetReadPermit.)
   */
  takeReadPermit: () => Promise<(() => Promise<void>) | undefined>;
}

/** Within this long after the last stored figure, a new one far from the edge is kept locally. */
const USAGE_STORE_EVERY_MS = 250;

/**
 * The org's daily API usage as the fleet knows it, stored in the limits hash (`apiUsed`, `apiMax`,
 * `usageAt`) where the acquire script reads it for every grant.
 *
 *   unknown ──an answer's Sforce-Limit-Info, or GET /limits──► known
 *   known ──a 403 TotalRequests, or GET /limits refused with it──► spent (used = max)
 *   spent ──GET /limits, re-read every budgetProbeMs by one worker (a lock)──► known
 *
 * Each answer reports the usage; far from the budget's edge a figure is stored at most every
 * 250 ms (answers arrive by the dozen), near it every figure is.
 */
export class UsageBudget {
  readonly #o: UsageBudgetOptions;
  #usage: Usage | undefined;
  #lastStoredAt = 0;

  constructor(options: UsageBudgetOptions) {
    this.#o = options;
  }

  /** The last usage this process knows of (undefined before the first report). */
  get usage(): Usage | undefined {
    return this.#usage;
  }

  /** Multiplier for the linger time: calls wait longer to fill as the budget runs out. */
  lingerFactor(): number {
    return lingerFactor(this.#usage, this.#o.dailyApiShare);
  }

  /** Whether the budget is unknown or near its edge (nearBudgetEdge). */
  nearEdge(): boolean {
    return (
      this.#usage === undefined ||
      nearBudgetEdge(this.#usage, this.#o.dailyApiShare, this.#o.maxConcurrency)
    );
  }

  /** Takes the usage another worker stored (read from the limits hash). */
  adopt(usage: Usage): void {
    this.#usage = usage;
  }

  /** Marks the budget spent in this process at once, before Redis hears of it. */
  markSpent(): void {
    if (this.#usage) this.#usage = { used: this.#usage.max, max: this.#usage.max };
  }

  /** Learns the usage an answer reported (Sforce-Limit-Info). */
  async learn(usage: Usage, now: number): Promise<void> {
    if (
      this.#usage === undefined ||
      nearBudgetEdge(usage, this.#o.dailyApiShare, this.#o.maxConcurrency) ||
      now - this.#lastStoredAt > USAGE_STORE_EVERY_MS ||
      usage.max !== this.#usage?.max
    ) {
      this.#lastStoredAt = now;
      await this.#record(usage, false);
    } else {
      this.#usage = usage;
    }
  }

  /**
   * Salesforce refused a call for the daily allocation (403 TotalRequests): the budget is spent,
   * whatever the last figure said.
   */
  async recordSpent(limitInfo: LimitInfo | undefined): Promise<void> {
    const max = limitInfo?.apiUsage?.max ?? this.#usage?.max ?? 0;
    await this.#record({ used: Math.max(max, limitInfo?.apiUsage?.used ?? 0), max }, true);
    this.#o.logger.warn(
      { apiMax: max },
      'Salesforce says the daily API allocation is spent; dispatch waits for the window to free up',
    );
  }

  publishMetrics(): void {
    const { metrics } = this.#o;
    if (this.#usage && this.#usage.max > 0) {
      metrics.apiUsageRatio.set(this.#usage.used / this.#usage.max);
      metrics.apiBudgetRemaining.set(
        Math.max(0, budgetCap(this.#usage, this.#o.dailyApiShare) - this.#usage.used),
      );
    }
  }

  /**
   * Re-reads the org's usage (GET /limits costs one call): at most once per `everyMs` across the
   * fleet (a lock); the other workers learn the result from Redis. Never rejects: callers run it
   * detached.
   */
  async probe(everyMs: number): Promise<void> {
    const { redis, keys, logger } = this.#o;
    const won = await redis
      .set(keys.limitsProbe, this.#o.holder, 'PX', everyMs, 'NX')
      .catch(() => null);
    if (won !== 'OK') return;
    // GET /limits is a request like a call: it takes a slot of the fleet's concurrency (not of
    // the budget, which it is there to re-read: the README counts it beyond the share).
    const release = await this.#o.takeReadPermit();
    if (!release) {
      await redis.del(keys.limitsProbe).catch(() => 0); // try again at the next round
      return;
    }
    try {
      const limits = await this.#o.readLimits();
      const { max, remaining } = limits.dailyApiRequests;
      await this.#record({ used: max - remaining, max }, true);
      logger.info({ apiUsed: max - remaining, apiMax: max }, 'read the org API usage');
    } catch (err) {
      // Past the daily cap every request is refused, /limits included: that answer is a reading
      // too (the cap still holds), not a failure. Keep waiting; the next probe reads it again.
      if ((err as { code?: unknown } | null)?.code === 'daily-limit' && this.#usage) {
        // Spent here at once; Redis hears of it now or from the next probe (this one runs
        // detached and must not reject).
        await this.#record({ used: this.#usage.max, max: this.#usage.max }, true).catch(() => {});
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
      await release();
    }
  }

  async #record(usage: Usage, force: boolean): Promise<void> {
    this.#usage = usage;
    this.publishMetrics();
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
}
