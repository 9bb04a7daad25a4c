import { randomBytes } from 'node:crypto';

/** One trigger's input: the flow interview's input variables (IndividualId, EmailAddress, ...). */
export type FlowInput = Record<string, unknown>;

/**
 * The data of one BullMQ job: a chunk of triggers of one flow (the queue is the flow). Bulk
 * producers write up to thousands of triggers per chunk, ingest group-commits concurrent requests
 * into one chunk, and a worker packs triggers of several chunks into one Salesforce call. Each
 * trigger is addressed by its index in the chunk; its outcome lives in the chunk's outcome hash.
 */
export interface ChunkJobData {
  /** Format version. */
  v: 1;
  inputs: FlowInput[];
  /** Idempotency key per input (`null` for none); absent when no input has a key. */
  keys?: (string | null)[];
  /** Trigger id per input when it differs from `<flow>.<chunk>.<index>` (replayed triggers). */
  ids?: (string | null)[];
  /**
   * The id of the request that brought each input (ingest's `x-request-id`), for the worker's call
   * log, as runs in input order (`[id, count]`; `null` for inputs without one): one request's
   * triggers are consecutive, so this costs one id per request, not per trigger. Absent when no
   * input has one.
   */
  req?: Runs;
  /**
   * The W3C `traceparent` of each input's trace (the ingest request or `trigger()` call that made
   * it, or the chunk write), as runs like `req`, so its Salesforce call joins that trace; absent
   * when tracing is off.
   */
  tp?: Runs;
  /**
   * Due time (epoch ms) per input of a scheduled chunk (README, "Scheduled triggers"): a worker
   * sends none before it. Absent for a chunk sent as soon as possible.
   */
  at?: number[];
}

/** Runs of equal values in input order: `[value, count]`, `null` for inputs without one. */
export type Runs = [string | null, number][];

/** `values` as runs, or undefined when none of them is set. */
export function toRuns(values: readonly (string | undefined)[]): Runs | undefined {
  if (!values.some((value) => value !== undefined)) return undefined;
  const runs: Runs = [];
  for (const value of values) {
    const last = runs[runs.length - 1];
    const item = value ?? null;
    if (last && last[0] === item) last[1]++;
    else runs.push([item, 1]);
  }
  return runs;
}

/** The value of each of `length` inputs from their runs (undefined where there is none). */
export function fromRuns(runs: unknown, length: number): (string | undefined)[] {
  const values: (string | undefined)[] = new Array(length).fill(undefined);
  if (!Array.isArray(runs)) return values;
  let index = 0;
  for (const run of runs) {
    if (!Array.isArray(run)) return values;
    const [value, count] = run as [unknown, unknown];
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) return values;
    for (let i = 0; i < count && index < length; i++, index++) {
      if (typeof value === 'string') values[index] = value;
    }
  }
  return values;
}

/**
 * A new chunk id: base-36 time (sortable, tells when a chunk was written) and 64 random bits,
 * then `-<partition>` for a chunk of queue partition 1 or more (partition 0's ids have no suffix,
 * as before partitions existed). It starts with a letter, so BullMQ never takes it for an integer
 * id, and has no ':' (ids stay URL-safe).
 */
export function newChunkId(now = Date.now(), partition = 0): string {
  const random = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0');
  const suffix = partition > 0 ? `-${partition}` : '';
  return `c${now.toString(36).padStart(9, '0')}${random}${suffix}`;
}

/** The queue partition a chunk id says it belongs to (0 for an id without a suffix). */
export function chunkPartition(chunkId: string): number {
  const match = /-([1-9][0-9]{0,2})$/.exec(chunkId);
  return match ? Number(match[1]) : 0;
}

/** When a chunk id was made (epoch ms): its chunk was written right after. */
export function chunkIdTime(chunkId: string): number | undefined {
  const time = Number.parseInt(chunkId.slice(1, 10), 36);
  return /^c[0-9a-z]{9}/.test(chunkId) && Number.isFinite(time) ? time : undefined;
}

/**
 * Trigger id = `<flow>.<chunkId>.<index>`: it names the queue, the job and the slot, and through
 * the chunk id's suffix the queue partition.
 */
export function triggerId(flow: string, chunkId: string, index: number): string {
  return `${flow}.${chunkId}.${index}`;
}

export interface TriggerAddress {
  flow: string;
  chunkId: string;
  index: number;
  /** The queue partition holding the chunk (0 without QUEUE_PARTITIONS). */
  partition: number;
}

const TRIGGER_ID_PATTERN =
  /^([A-Za-z][A-Za-z0-9_]{0,79})\.(c[0-9a-z]{8,40}(?:-([1-9][0-9]{0,2}))?)\.(\d{1,6})$/;

/** Parses a trigger id; undefined when it is not one of ours. */
export function parseTriggerId(id: string): TriggerAddress | undefined {
  const match = TRIGGER_ID_PATTERN.exec(id);
  if (!match) return undefined;
  const [, flow, chunkId, partition, index] = match;
  if (flow === undefined || chunkId === undefined || index === undefined) return undefined;
  return { flow, chunkId, index: Number(index), partition: partition ? Number(partition) : 0 };
}
