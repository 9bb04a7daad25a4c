import { type FlowDescribe, isSalesforceRequestError, type Logger } from '@flow-dispatcher/shared';
import { IngestError } from './ingest-error.js';

/** Where describes come from: the SalesforceClient (which has its own short cache). */
export interface FlowDescriber {
  describeFlow(flow: string): Promise<FlowDescribe>;
}

/** Why a trigger was accepted without being checked against its flow's describe. */
export type ValidationSkipReason =
  /** No Salesforce credentials are configured. */
  | 'no_salesforce'
  /** The flow's first describe is still being fetched. */
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
  nextFetchAtMs: number;
  fetching: Promise<FetchOutcome> | undefined;
}

export interface DescribeCacheOptions {
  /** A describe is fetched again in the background once it is this old. */
  ttlMs: number;
  /** After a failed fetch, the next try waits this long. @defaultValue 30000 */
  retryMs?: number;
  /** Flows remembered; the oldest is forgotten past it. @defaultValue 1000 */
  maxFlows?: number;
  /** Background fetches at once (each costs one API request). @defaultValue 4 */
  maxFetches?: number;
  /** Deadline of a blocking `fetch` (GET /v1/flows/{flow}). @defaultValue 10000 */
  fetchTimeoutMs?: number;
  logger: Logger;
  clock?: () => number;
}

/**
 * Flow describes for checking triggers, kept off the hot path.
 *
 * Per flow: absent → fetching (in the background, started by the first lookup) → known (ready or
 * missing) → refreshed in the background once older than `ttlMs`, the old answer served
 * meanwhile. A failed fetch keeps the old answer and is tried again after `retryMs`. `lookup`
 * never waits: until a flow's first answer arrives, or while Salesforce cannot be reached and
 * nothing is known, triggers are accepted unchecked (and counted by the caller). The trade-off:
 * a slow or absent Salesforce never slows ingest or stops it, at the price of letting through
 * the first few requests of a flow unchecked.
 */
export class DescribeCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #retryMs: number;
  readonly #maxFlows: number;
  readonly #maxFetches: number;
  readonly #fetchTimeoutMs: number;
  readonly #logger: Logger;
  readonly #clock: () => number;
  #fetches = 0;

  constructor(
    private readonly describer: FlowDescriber | undefined,
    options: DescribeCacheOptions,
  ) {
    this.#ttlMs = Math.max(1_000, options.ttlMs);
    this.#retryMs = options.retryMs ?? 30_000;
    this.#maxFlows = options.maxFlows ?? 1_000;
    this.#maxFetches = options.maxFetches ?? 4;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 10_000;
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
      entry = { known: undefined, failing: false, nextFetchAtMs: 0, fetching: undefined };
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
        entry.nextFetchAtMs = this.#clock() + this.#ttlMs;
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
