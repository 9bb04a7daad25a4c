import type { Logger, Metrics, RedisConnection, RedisKeys } from '@flow-dispatcher/shared';

/** Why a flow is held. */
export type HoldReason =
  /** Salesforce answered 404 NOT_FOUND: deleted, inactive, or not shared with the API user. */
  | 'not_found'
  /** Salesforce refused the request as a whole, naming no input (403: a permission, API access). */
  | 'refused'
  /** The same input error on every input of several calls: a sender's systematic mistake. */
  | 'breaker';

/** A hold as stored in Redis (JSON). */
export interface Hold {
  reason: HoldReason;
  /** Salesforce's error code (NOT_FOUND, INSUFFICIENT_ACCESS, API_DISABLED_FOR_ORG, INVALID_INPUT…). */
  code: string;
  /** What an operator reads: Salesforce's message (no input values), and what to do. */
  message: string;
  openedAt: number;
  /** When one worker describes the flow again to see if the cause is gone; null: by hand only. */
  nextProbeAt: number | null;
  /** Probes made so far (each failed one doubles the wait before the next). */
  probes: number;
  /** For a fleet-wide hold: the flow whose call was refused (the one probed). */
  flow?: string;
}

/** What a probe found: the flow answers again, or not (yet). */
export type ProbeResult = 'back' | 'still-held';

export interface FlowHoldsOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: Metrics;
  /** Describes `flow` afresh (through the fleet's limits): is the cause of its hold gone? */
  probe: (flow: string) => Promise<ProbeResult>;
  /** Told when `flow` becomes held in this process ('*': every flow): hand its triggers back. */
  onHold: (flow: string) => void;
  /** First probe this long after a hold opens; each failed probe doubles it (with jitter). */
  probeMs: number;
  /** The longest wait between two probes. */
  probeMaxMs: number;
  /**
   * Probes the whole fleet may make per second, whatever the number of held flows (300 made-up
   * flow names must not cost 300 describes a minute).
   */
  probesPerSecond: number;
  /** How often this process re-reads which flows are held, and looks for probes due. */
  refreshMs: number;
  random?: () => number;
}

/**
 * Holds, fleet-wide: a flow whose every call would be refused for a reason that is not its
 * triggers' (it is missing, the integration user may not run it, the sender makes the same mistake
 * in every trigger) is held instead of burning its backlog. Every worker stops fetching and
 * sending it within `refreshMs`; its triggers wait in the queue spending no attempts; a log line,
 * `flow_dispatcher_flow_held{flow,reason,code}` and `stats` say why. An org-wide refusal (403
 * API_DISABLED_FOR_ORG) holds every flow (`flow="*"`).
 *
 *   free ──404 / 403 / breaker──► held ──probe: describe answers──► free
 *                                   │ └─probe fails──► held (next probe twice as far, ≤ probeMaxMs)
 *                                   └──`flow-dispatcher resume [FLOW]`──► free
 *
 * Probes: one worker at a time (a lock per hold) describes the flow when its hold's `nextProbeAt`
 * is due, starting `probeMs` after the hold and doubling, jittered, up to `probeMaxMs`, so a flow
 * gone for good costs a few describes a day, not one a minute; and the fleet makes at most
 * `probesPerSecond` probes (a shared slot in Redis), however many flows are held. A probe is a
 * Salesforce request like a call: it waits for a call permit of the fleet. A breaker hold is not probed: a
 * describe cannot tell that the sender fixed its triggers; an operator resumes it.
 *
 * This is separate from the operator's pause (BullMQ's queue pause), so releasing a hold never
 * undoes a pause an operator asked for.
 */
export class FlowHolds {
  readonly #held = new Map<string, Hold>();
  #fleet: Hold | undefined;
  readonly #shown = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #subscriber: RedisConnection | undefined;
  #ticking = false;
  /** Hold keys this process is probing now (a probe may wait long for a call permit). */
  readonly #probing = new Set<string>();
  /**
   * When this process last held a flow itself ('*': the org), by a counter: a refresh that read
   * Redis before that hold's write landed must not release it.
   */
  readonly #heldHere = new Map<string, number>();
  #holdsMade = 0;
  readonly #random: () => number;

  constructor(private readonly options: FlowHoldsOptions) {
    this.#random = options.random ?? Math.random;
  }

  /** Whether `flow` may not be called now (it, or the whole org, is held). */
  isHeld(flow: string): boolean {
    return this.#fleet !== undefined || this.#held.has(flow);
  }

  /** The hold on `flow` (or the org's), if any. */
  holdOf(flow: string): Hold | undefined {
    return this.#fleet ?? this.#held.get(flow);
  }

  async start(): Promise<void> {
    const { redis, keys } = this.options;
    // Holds and releases are announced: every worker re-reads them within a round trip, not at
    // its next poll (the poll stays, in case an announcement is missed).
    this.#subscriber = redis.duplicate();
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('message', () => void this.#refresh());
    await this.#subscriber.subscribe(keys.holdsChanged);
    await this.#refresh();
    this.#timer = setInterval(() => void this.#tick(), this.options.refreshMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#subscriber?.disconnect();
  }

  /**
   * Holds `flow` fleet-wide (`scope: 'org'`: every flow). A flow already held keeps its first
   * reason. Resolves once the hold is in Redis.
   */
  async hold(
    flow: string,
    cause: { reason: HoldReason; code: string; message: string; scope?: 'flow' | 'org' },
  ): Promise<void> {
    const { redis, keys, logger, probeMs } = this.options;
    const org = cause.scope === 'org';
    const now = Date.now();
    const hold: Hold = {
      reason: cause.reason,
      code: cause.code,
      message: cause.message,
      openedAt: now,
      nextProbeAt: cause.reason === 'breaker' ? null : now + this.#jitter(probeMs),
      probes: 0,
      ...(org ? { flow } : {}),
    };
    const key = org ? keys.fleetHold : keys.circuit(flow);
    // Known in this process at once (no call of the flow leaves after this line), Redis follows.
    this.#heldHere.set(org ? '*' : flow, ++this.#holdsMade);
    if (!this.isHeld(flow) || (org && !this.#fleet)) this.#mark(org ? '*' : flow, hold);
    const created = await redis.set(key, JSON.stringify(hold), 'NX');
    if (created === 'OK') {
      await redis.publish(keys.holdsChanged, org ? '*' : flow);
      logger.error(
        { flow: org ? '*' : flow, reason: hold.reason, code: hold.code, message: hold.message },
        org
          ? 'Salesforce refused the org: every flow is held, its triggers wait; probing, or `flow-dispatcher resume`'
          : hold.reason === 'breaker'
            ? 'flow held: the same error on every input of several calls; fix the sender or the flow, then `flow-dispatcher resume FLOW`'
            : 'flow held: its triggers wait; it resumes when a probe finds it back, or with `flow-dispatcher resume FLOW`',
      );
    } else {
      await this.#refresh();
    }
  }

  /** Marks a hold known in this process, hands the flow's triggers back, updates the metrics. */
  #mark(flow: string, hold: Hold): void {
    const isNew = flow === '*' ? this.#fleet === undefined : !this.#held.has(flow);
    if (flow === '*') this.#fleet = hold;
    else this.#held.set(flow, hold);
    this.#show(flow, hold);
    if (isNew) this.options.onHold(flow);
  }

  #show(flow: string, hold: Hold | undefined): void {
    const { metrics } = this.options;
    const labels = hold ? `${hold.reason}|${hold.code}` : undefined;
    const shown = this.#shown.get(flow);
    if (shown === labels) return;
    if (shown !== undefined) {
      const [reason = '', code = ''] = shown.split('|');
      metrics.flowHeld.remove({ flow, reason, code });
    }
    if (hold) {
      metrics.flowHeld.set({ flow, reason: hold.reason, code: hold.code }, 1);
      this.#shown.set(flow, labels as string);
    } else {
      this.#shown.delete(flow);
    }
    if (flow !== '*' && (hold?.reason === 'not_found' || shown?.startsWith('not_found|'))) {
      metrics.circuitOpen.set({ flow }, hold?.reason === 'not_found' ? 1 : 0);
    }
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      await this.#refresh();
      await this.#probeDue();
    } finally {
      this.#ticking = false;
    }
  }

  /** Reads every flow's hold (and the org's) from Redis. */
  async #refresh(): Promise<void> {
    const { redis, keys } = this.options;
    const before = this.#holdsMade;
    const releasable = (flow: string) => (this.#heldHere.get(flow) ?? 0) <= before;
    try {
      // Holds are fleet-wide: their keys all sit in partition 0's slot (one node of a Cluster).
      const registries = await Promise.all(
        keys.allPartitions.map((partition) => redis.smembers(partition.flows)),
      );
      const flows = [...new Set([...registries.flat(), ...this.#held.keys()])];
      const pipeline = redis.pipeline();
      pipeline.get(keys.fleetHold);
      for (const flow of flows) pipeline.get(keys.circuit(flow));
      const results = (await pipeline.exec()) ?? [];
      const fleet = parseHold(results[0]?.[1]);
      if (fleet) this.#mark('*', fleet);
      else if (this.#fleet && releasable('*')) {
        this.#fleet = undefined;
        this.#show('*', undefined);
        this.options.logger.info('the org is no longer held: dispatch resumes');
      }
      flows.forEach((flow, i) => {
        const hold = parseHold(results[i + 1]?.[1]);
        if (hold) this.#mark(flow, hold);
        else if (this.#held.has(flow) && releasable(flow)) {
          this.#held.delete(flow);
          this.#show(flow, undefined);
        }
      });
    } catch (err) {
      this.options.logger.debug({ err }, 'could not read flow holds');
    }
  }

  async #probeDue(): Promise<void> {
    const now = Date.now();
    const due: [string, string, Hold][] = [];
    if (this.#fleet?.flow && this.#fleet.nextProbeAt !== null && this.#fleet.nextProbeAt <= now)
      due.push([this.#fleet.flow, this.options.keys.fleetHold, this.#fleet]);
    for (const [flow, hold] of this.#held)
      if (hold.nextProbeAt !== null && hold.nextProbeAt <= now)
        due.push([flow, this.options.keys.circuit(flow), hold]);
    for (const [flow, key, hold] of due) {
      if (this.#probing.has(key)) continue;
      this.#probing.add(key);
      void this.#probeOne(flow, key, hold)
        .catch((err) => this.options.logger.warn({ flow, err }, 'could not probe a held flow'))
        .finally(() => this.#probing.delete(key));
    }
  }

  /** One worker probes a due hold: released when the flow answers, else the next probe is set. */
  async #probeOne(flow: string, key: string, hold: Hold): Promise<void> {
    const { redis, keys, logger, probeMs, probeMaxMs, probesPerSecond } = this.options;
    const slot = await redis
      .set(`${keys.fleetHold}:probe-slot`, '1', 'PX', Math.ceil(1_000 / probesPerSecond), 'NX')
      .catch(() => null);
    if (slot !== 'OK') return; // the fleet's probe for this moment is taken: next tick
    const won = await redis.set(`${key}:probe`, '1', 'PX', 60_000, 'NX').catch(() => null);
    if (won !== 'OK') return;
    try {
      const result = await this.options.probe(flow).catch((): ProbeResult => 'still-held');
      // Another worker, or an operator, may have changed the hold meanwhile: compare first.
      const current = parseHold(await redis.get(key));
      if (!current || current.openedAt !== hold.openedAt) return;
      if (result === 'back') {
        await redis.del(key);
        await redis.publish(this.options.keys.holdsChanged, flow);
        logger.info(
          { flow: key === this.options.keys.fleetHold ? '*' : flow, reason: hold.reason },
          'the cause of the hold is gone: dispatch resumes',
        );
        await this.#refresh();
        return;
      }
      const probes = current.probes + 1;
      const waitMs = Math.min(probeMaxMs, probeMs * 2 ** Math.min(probes, 20));
      const next: Hold = { ...current, probes, nextProbeAt: Date.now() + this.#jitter(waitMs) };
      await redis.set(key, JSON.stringify(next), 'XX');
    } finally {
      await redis.del(`${key}:probe`).catch(() => 0);
    }
  }

  /** `ms` ± 20 %, so that the holds of many flows do not probe in lock step. */
  #jitter(ms: number): number {
    return Math.round(ms * (0.8 + 0.4 * this.#random()));
  }
}

function parseHold(raw: unknown): Hold | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    const value = JSON.parse(raw) as Partial<Hold> & { openedAt?: number; message?: string };
    // Holds written before reasons existed were 404 circuits: {openedAt, message}.
    return {
      reason: value.reason ?? 'not_found',
      code: value.code ?? 'NOT_FOUND',
      message: value.message ?? '',
      openedAt: value.openedAt ?? 0,
      nextProbeAt: value.nextProbeAt === undefined ? (value.openedAt ?? 0) : value.nextProbeAt,
      probes: value.probes ?? 0,
      ...(value.flow ? { flow: value.flow } : {}),
    };
  } catch {
    return undefined;
  }
}
