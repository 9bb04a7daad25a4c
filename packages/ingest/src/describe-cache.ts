import { type FlowDescribe, isSalesforceRequestError } from '@flow-dispatcher/salesforce';
import type { Logger } from '@flow-dispatcher/shared';
import { IngestError } from './ingest-error.js';

/** Where describes come from: the SalesforceClient (which has its own short cache). */
export interface FlowDescriber {
  describeFlow(flow: string): Promise<FlowDescribe>;
}

/** Why a trigger was accepted without being checked against its flow's describe. */
export type ValidationSkipReason =
  /** No Salesforce credentials are configured. */
  | 'no_salesforce'
  /** The flow's first describe did not arrive within the hold (`holdMs`). */
  | 'not_cached'
  /** Salesforce could not be asked (down, slow, auth failing) and no earlier describe is known. */
  | 'salesforce_unavailable'
  /** The describe lists no inputs: a shape we do not recognise, so nothing is checked. */
  | 'describe_empty';

export type DescribeLookup =
  | { kind: 'ready'; describe: FlowDescribe }
  /** Salesforce says the flow does not exist, is inactive or is not shared with the API user. */
  | { kind: 'missing' }
  | { kind: 'unchecked'; reason: ValidationSkipReason };

type FetchOutcome =
  | { kind: 'ready'; describe: FlowDescribe }
  | { kind: 'missing' }
  | { kind: 'failed'; error: unknown };

interface Entry {
  /** The last answer Salesforce gave: kept through later failures (stale beats nothing). */
  known: { kind: 'ready'; describe: FlowDescribe } | { kind: 'missing' } | undefined;
  failing: boolean;
  /** A hold ran out before the fetch in flight answered: later lookups do not wait for it. */
  holdExpired: boolean;
  nextFetchAtMs: number;
  fetching: Promise<FetchOutcome> | undefined;
}

export interface DescribeCacheOptions {
  /** A describe is fetched again in the background once it is this old. */
  ttlMs: number;
  /**
   * Salesforce's "this flow does not exist" is believed this long (at most `ttlMs`), then asked
   * again.
   */
  missingTtlMs: number;
  /**
   * Longest wait of `lookupHeld` for an answer being fetched: a flow's first describe, or a
   * fresh look at a flow known to be missing.
   */
  holdMs: number;
  /** After a failed fetch, the next try waits this long. */
  retryMs: number;
  /** Flows remembered; the oldest is forgotten past it. */
  maxFlows: number;
  /** Background fetches at once (each costs one API request). */
  maxFetches: number;
  /** Deadline of a blocking `fetch` (GET /v1/flows/{flow}). */
  fetchTimeoutMs: number;
  logger: Logger;
  clock?: () => number;
}

/**
 * Flow describes for checking triggers, kept off the hot path.
 *
 * Per flow: absent → fetching (started by the first lookup; one request shared by every caller)
 * → known (ready, or missing) → refreshed once older than `ttlMs` (`missingTtlMs` for a missing
 * flow), the old answer served meanwhile. A failed fetch keeps the old answer and is tried again
 * after `retryMs`. At most `maxFetches` fetches run at once, whatever the number of flows named.
 *
 * `lookup` never waits. `lookupHeld` (the trigger routes) waits up to `holdMs` while an answer
 * is on its way: a flow's first describe (so a flow's first request is checked like the others,
 * and a made-up flow name is refused from its first request), and the refresh of a flow known to
 * be missing (so a flow activated meanwhile is accepted at once). When the hold runs out, or
 * Salesforce cannot be reached and nothing is known, triggers are accepted unchecked (counted by
 * the caller). The trade-off: a flow's first request, and a missing flow's first request after
 * `missingTtlMs`, wait for one describe (up to `holdMs`), and a slow or absent Salesforce delays
 * ingest by at most that once per flow and never stops it.
 */
export class DescribeCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #missingTtlMs: number;
  readonly #holdMs: number;
  readonly #retryMs: number;
  readonly #maxFlows: number;
  readonly #maxFetches: number;
  readonly #fetchTimeoutMs: number;
  readonly #logger: Logger;
  readonly #clock: () => number;
  #fetches = 0;
  /** Callers of `lookupHeld` waiting for a fetch slot, woken whenever a fetch ends. */
  #slotWaiters: (() => void)[] = [];

  constructor(
    private readonly describer: FlowDescriber | undefined,
    options: DescribeCacheOptions,
  ) {
    this.#ttlMs = Math.max(1_000, options.ttlMs);
    this.#missingTtlMs = Math.min(this.#ttlMs, Math.max(1_000, options.missingTtlMs));
    this.#holdMs = Math.max(0, options.holdMs);
    this.#retryMs = options.retryMs;
    this.#maxFlows = options.maxFlows;
    this.#maxFetches = options.maxFetches;
    this.#fetchTimeoutMs = options.fetchTimeoutMs;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
  }

  /** What is known of `flow` now, without waiting; starts a background fetch when one is due. */
  lookup(flow: string): DescribeLookup {
    if (!this.describer) return { kind: 'unchecked', reason: 'no_salesforce' };
    const entry = this.#entry(flow);
    if (
      !entry.fetching &&
      this.#clock() >= entry.nextFetchAtMs &&
      this.#fetches < this.#maxFetches
    ) {
      this.#startFetch(flow, entry);
    }
    const known = entry.known;
    if (known === undefined) {
      return { kind: 'unchecked', reason: entry.failing ? 'salesforce_unavailable' : 'not_cached' };
    }
    if (known.kind === 'ready' && known.describe.inputs.length === 0) {
      return { kind: 'unchecked', reason: 'describe_empty' };
    }
    return known;
  }

  /**
   * What is known of `flow`, after waiting up to `holdMs` for an answer on its way: the flow's
   * first describe (queued for a fetch slot if all are busy), or the refresh of a flow known to
   * be missing. Every other case answers at once, as `lookup` does.
   */
  async lookupHeld(flow: string): Promise<DescribeLookup> {
    let found = this.lookup(flow);
    if (!this.#worthWaiting(flow, found)) return found;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), this.#holdMs);
    });
    try {
      while (this.#worthWaiting(flow, found)) {
        const fetching = this.#entries.get(flow)?.fetching;
        const next = fetching ?? new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
        if ((await Promise.race([next, expired])) === 'expired') {
          const entry = this.#entries.get(flow);
          if (entry) entry.holdExpired = true;
          return this.lookup(flow);
        }
        found = this.lookup(flow);
      }
      return found;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An answer is on its way (or waits for a fetch slot) that may change what `found` says, and
   * no earlier hold for it ran out: a describe that hangs delays one wave of requests, not all.
   */
  #worthWaiting(flow: string, found: DescribeLookup): boolean {
    const entry = this.#entries.get(flow);
    if (entry === undefined || entry.holdExpired) return false;
    if (found.kind === 'unchecked') return found.reason === 'not_cached';
    return found.kind === 'missing' && entry.fetching !== undefined;
  }

  /**
   * The describe of `flow`, fetched now unless a fresh one is known (GET /v1/flows/{flow}).
   * Throws IngestError: 404 FLOW_NOT_FOUND, 503 SALESFORCE_UNAVAILABLE.
   */
  async fetch(flow: string): Promise<FlowDescribe> {
    if (!this.describer) {
      throw new IngestError(
        503,
        'SALESFORCE_UNAVAILABLE',
        'no Salesforce credentials are configured, so flow describes are not available',
      );
    }
    const entry = this.#entry(flow);
    let outcome: FetchOutcome;
    if (entry.known && !entry.failing && this.#clock() < entry.nextFetchAtMs) {
      outcome = entry.known;
    } else {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<FetchOutcome>((resolve) => {
        timer = setTimeout(
          () => resolve({ kind: 'failed', error: new Error('describe timed out') }),
          this.#fetchTimeoutMs,
        );
      });
      try {
        outcome = await Promise.race([entry.fetching ?? this.#startFetch(flow, entry), deadline]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (outcome.kind === 'ready') return outcome.describe;
    if (outcome.kind === 'missing') {
      throw new IngestError(
        404,
        'FLOW_NOT_FOUND',
        `flow ${flow} does not exist in Salesforce, is not active, or is not shared with the API user`,
      );
    }
    throw new IngestError(
      503,
      'SALESFORCE_UNAVAILABLE',
      `the describe of flow ${flow} could not be fetched from Salesforce; try again later`,
      { cause: outcome.error, retryAfterSeconds: 5 },
    );
  }

  #entry(flow: string): Entry {
    let entry = this.#entries.get(flow);
    if (!entry) {
      if (this.#entries.size >= this.#maxFlows) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      entry = {
        known: undefined,
        failing: false,
        holdExpired: false,
        nextFetchAtMs: 0,
        fetching: undefined,
      };
      this.#entries.set(flow, entry);
    }
    return entry;
  }

  #startFetch(flow: string, entry: Entry): Promise<FetchOutcome> {
    const describer = this.describer;
    if (!describer) return Promise.resolve({ kind: 'failed', error: new Error('no describer') });
    this.#fetches++;
    const fetching = (async (): Promise<FetchOutcome> => {
      try {
        const describe = await describer.describeFlow(flow);
        return { kind: 'ready', describe };
      } catch (error) {
        if (isSalesforceRequestError(error) && error.code === 'flow-missing') {
          return { kind: 'missing' };
        }
        return { kind: 'failed', error };
      }
    })().then((outcome) => {
      this.#fetches--;
      entry.fetching = undefined;
      entry.holdExpired = false;
      const waiters = this.#slotWaiters;
      this.#slotWaiters = [];
      for (const wake of waiters) wake();
      if (outcome.kind === 'failed') {
        if (!entry.failing) {
          this.#logger.warn(
            { flow, err: { message: errorMessage(outcome.error) } },
            'flow describe failed: triggers of this flow are accepted unchecked until it works',
          );
        }
        entry.failing = true;
        entry.nextFetchAtMs = this.#clock() + this.#retryMs;
      } else {
        if (entry.failing) this.#logger.info({ flow }, 'flow describe works again');
        entry.failing = false;
        entry.known = outcome;
        entry.nextFetchAtMs =
          this.#clock() + (outcome.kind === 'missing' ? this.#missingTtlMs : this.#ttlMs);
      }
      return outcome;
    });
    entry.fetching = fetching;
    return fetching;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
