import type { Logger, Metrics, RedisConnection, RedisKeys } from '@flow-dispatcher/shared';

export interface FlowCircuitsOptions {
  redis: RedisConnection;
  keys: RedisKeys;
  logger: Logger;
  metrics: Metrics;
  /** Does the flow exist again? (a fresh describe; throws or returns false while it is missing) */
  probe: (flow: string) => Promise<boolean>;
  /** Told when a flow's circuit opens in this process (hand its buffered triggers back). */
  onOpen: (flow: string) => void;
  /** How often an open circuit is probed (one worker per flow per round). @defaultValue 60000 */
  probeMs?: number;
  /** How often this process re-reads which circuits are open. @defaultValue 1000 */
  refreshMs?: number;
}

/**
 * A circuit breaker per flow, fleet-wide. Salesforce answering 404 NOT_FOUND means the flow was
 * deleted, deactivated or unshared: every call to it would fail the same way, and dead-lettering
 * its triggers would only move the problem. So the circuit opens (`{prefix}:circuit:<flow>` is
 * set): every worker stops fetching the flow's chunks within `refreshMs`, its triggers wait in the
 * queue, a log line and `flow_dispatcher_circuit_open{flow}` say so. One worker at a time probes the
 * flow's describe every `probeMs`; when it answers, the circuit closes and dispatch resumes.
 * `flow-dispatcher resume FLOW` closes it by hand.
 *
 *   closed ──404──► open ──describe answers (probe) or `resume FLOW`──► closed
 *
 * This is separate from the operator's pause (BullMQ's queue pause), so closing a circuit never
 * undoes a pause an operator asked for.
 */
export class FlowCircuits {
  readonly #open = new Set<string>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  readonly #known = new Set<string>();

  constructor(private readonly options: FlowCircuitsOptions) {}

  isOpen(flow: string): boolean {
    return this.#open.has(flow);
  }

  async start(): Promise<void> {
    await this.#refresh();
    this.#refreshTimer = setInterval(() => void this.#refresh(), this.options.refreshMs ?? 1_000);
    this.#probeTimer = setInterval(() => void this.#probeAll(), this.options.probeMs ?? 60_000);
  }

  /** Salesforce said 404 for `flow`. */
  async open(flow: string, message: string): Promise<void> {
    const { redis, keys, logger } = this.options;
    const opened = await redis.set(
      keys.circuit(flow),
      JSON.stringify({ openedAt: Date.now(), message }),
      'NX',
    );
    this.#markOpen(flow);
    if (opened === 'OK') {
      logger.error(
        { flow, reason: message },
        'flow not found: its circuit is open, its triggers wait; it resumes when the flow is back, or with `flow-dispatcher resume FLOW`',
      );
    }
  }

  #markOpen(flow: string): void {
    this.#known.add(flow);
    this.options.metrics.circuitOpen.set({ flow }, 1);
    if (!this.#open.has(flow)) {
      this.#open.add(flow);
      this.options.onOpen(flow);
    }
  }

  async #refresh(): Promise<void> {
    const { redis, keys } = this.options;
    try {
      // Every partition's registry: circuits are fleet-wide (their keys all in partition 0's slot,
      // so the pipeline goes to one node).
      const registries = await Promise.all(
        keys.allPartitions.map((partition) => redis.smembers(partition.flows)),
      );
      const flows = [...new Set(registries.flat())];
      if (flows.length === 0) return;
      const pipeline = redis.pipeline();
      for (const flow of flows) pipeline.exists(keys.circuit(flow));
      const results = (await pipeline.exec()) ?? [];
      flows.forEach((flow, i) => {
        const open = results[i]?.[1] === 1;
        if (open) this.#markOpen(flow);
        else if (this.#open.delete(flow) || this.#known.has(flow)) {
          this.options.metrics.circuitOpen.set({ flow }, 0);
        }
      });
    } catch (err) {
      this.options.logger.debug({ err }, 'could not read circuit states');
    }
  }

  async #probeAll(): Promise<void> {
    const { redis, keys, logger, probe } = this.options;
    for (const flow of [...this.#open]) {
      const won = await redis
        .set(
          `${keys.circuit(flow)}:probe`,
          '1',
          'PX',
          Math.max(1_000, (this.options.probeMs ?? 60_000) - 100),
          'NX',
        )
        .catch(() => null);
      if (won !== 'OK') continue;
      let back = false;
      try {
        back = await probe(flow);
      } catch {
        back = false;
      }
      if (back) {
        await redis.del(keys.circuit(flow));
        this.#open.delete(flow);
        this.options.metrics.circuitOpen.set({ flow }, 0);
        logger.info({ flow }, 'flow is back: circuit closed, dispatch resumes');
      }
    }
  }

  stop(): void {
    clearInterval(this.#refreshTimer);
    clearInterval(this.#probeTimer);
  }
}
