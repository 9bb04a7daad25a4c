import type { CallPermit, CallSlots } from '@flow-dispatcher/salesforce';
import {
  decodePace,
  type FlowPace,
  type Logger,
  type Metrics,
  PACE_BUCKET_TTL_MS,
  type RedisConnection,
  type RedisKeys,
} from '@flow-dispatcher/shared';
import { paceTokens } from './pace-scripts.js';

/** A call that may leave: its permit, and the most inputs its pace lets it carry. */
export interface AdmittedCall {
  permit: CallPermit;
  /** Tokens taken for it; Infinity when the flow is not paced; 0: nothing left to send. */
  grant: number;
}

/** How a batcher waits for a paced flow's tokens around asking for a call permit. */
export interface CallPace {
  /**
   * Resolves once a call of the flow may leave: with a permit of `slots` and the tokens taken for
   * it. Waits for the tokens without a permit; `want` is read at each ask, so the call keeps
   * filling while it waits.
   */
  admit(want: () => number, slots: CallSlots): Promise<AdmittedCall>;
  /** The call admitted with `granted` carried `used` inputs: the rest go back to the bucket. */
  settle(granted: number, used: number): void;
}

export interface FlowPacingOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: Metrics;
  /** How often the paced flows are re-read (a new pace, or `off`, counts from then). */
  refreshMs: number;
}

/** The longest a waiting call sleeps before it asks again (so a new pace counts within it). */
const MAX_SLEEP_MS = 1_000;

/**
 * Per-flow pacing in a worker (see flow-pace.ts in the shared package and docs/design.md,
 * "Pacing a flow"). It re-reads which flows are paced every `refreshMs` (one HGETALL) and
 * publishes them as `flow_dispatcher_flow_pace_per_second`; a flow that is not paced costs
 * nothing more. A call of a paced flow first looks at the flow's bucket in Redis (`peek`): told
 * to wait, it sleeps until the tokens will be there (at most a second, so a new pace counts
 * soon) and looks again, for what its buffer holds by then, holding no permit of the fleet. Once
 * they are there it asks for a call permit, then takes the tokens (`take`): the tokens are taken
 * the moment the call leaves, so a call that waited long for its permit does not arrive in a
 * bunch with the next ones. Another worker may have taken them meanwhile: the permit goes back
 * and the call waits again.
 */
export class FlowPacing {
  #paces = new Map<string, FlowPace>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(private readonly options: FlowPacingOptions) {}

  async start(): Promise<void> {
    await this.#refresh().catch((err) =>
      this.options.logger.warn({ err }, 'could not read the paced flows'),
    );
    this.#timer = setInterval(
      () =>
        void this.#refresh().catch((err) =>
          this.options.logger.warn({ err }, 'could not read the paced flows'),
        ),
      this.options.refreshMs,
    );
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  async #refresh(): Promise<void> {
    const { redis, keys, metrics, logger } = this.options;
    const raw = await redis.hgetall(keys.paces);
    const next = new Map<string, FlowPace>();
    for (const [flow, value] of Object.entries(raw)) {
      const pace = decodePace(value);
      if (pace) next.set(flow, pace);
    }
    for (const flow of this.#paces.keys()) {
      if (!next.has(flow)) {
        metrics.flowPacePerSecond.remove({ flow });
        logger.info({ flow }, 'flow no longer paced');
      }
    }
    for (const [flow, pace] of next) {
      metrics.flowPacePerSecond.set({ flow }, pace.perSecond);
      const before = this.#paces.get(flow);
      if (before?.perSecond !== pace.perSecond || before?.windowMs !== pace.windowMs) {
        logger.info({ flow, perSecond: pace.perSecond, windowMs: pace.windowMs }, 'flow paced');
      }
    }
    this.#paces = next;
  }

  /** The batcher's view of `flow`'s pace. */
  forFlow(flow: string): CallPace {
    return {
      admit: (want, slots) => this.#admit(flow, want, slots),
      settle: (granted, used) => {
        if (!Number.isFinite(granted) || used >= granted) return;
        void this.#ask(flow, 'return', granted - used).catch((err) =>
          this.options.logger.warn({ flow, err }, 'could not return unused pace tokens'),
        );
      },
    };
  }

  async #admit(flow: string, want: () => number, slots: CallSlots): Promise<AdmittedCall> {
    for (;;) {
      if (!this.#paces.has(flow)) return { permit: await slots.acquire(), grant: Infinity };
      const n = this.#stopped ? 0 : want();
      if (n <= 0) return { permit: await slots.acquire(), grant: 0 };
      let waitMs: number;
      try {
        const peek = await this.#ask(flow, 'peek', n);
        if (peek.granted < 0) return { permit: await slots.acquire(), grant: Infinity };
        waitMs = peek.waitMs;
        if (waitMs === 0) {
          const permit = await slots.acquire();
          try {
            const take = await this.#ask(flow, 'take', Math.max(1, want()));
            if (take.granted !== 0) {
              return { permit, grant: take.granted < 0 ? Infinity : take.granted };
            }
            waitMs = take.waitMs;
          } catch (err) {
            permit.release();
            throw err;
          }
          permit.release();
        }
      } catch (err) {
        // Redis is away: the call waits (it may not leave unpaced) and asks again.
        this.options.logger.warn({ flow, err }, 'could not ask for pace tokens');
        waitMs = MAX_SLEEP_MS;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_SLEEP_MS, waitMs)));
    }
  }

  #ask(flow: string, mode: 'peek' | 'take' | 'return', n: number) {
    const { redis, keys } = this.options;
    return paceTokens.run(
      redis,
      { paces: keys.paces, bucket: keys.paceBucket(flow) },
      { flow, mode, n, ttlMs: PACE_BUCKET_TTL_MS },
    );
  }
}
