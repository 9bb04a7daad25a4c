import { MAX_KEY_LENGTH } from '@flow-dispatcher/producer';
import { checkTriggerInput, type FlowInput, readNotBefore } from '@flow-dispatcher/shared';
import type { EnqueueCounts, EnqueueProgress } from './enqueue-progress.js';
import type { RejectsFile } from './rejects-file.js';
import type { SourceRow } from './source-row.js';

/** Where accepted rows go: `Producer.triggerMany` in a real run, nowhere in a dry run. */
export type BatchWriter = (
  inputs: FlowInput[],
  keys: (string | null)[],
  /** Per input due time (epoch ms) from `--not-before-column`; undefined without that column. */
  notBefores: (number | null)[] | undefined,
) => Promise<readonly { duplicate: boolean }[]>;

export interface EnqueueResult extends EnqueueCounts {
  /** The last line of the last batch stored (0 before the first). */
  storedThroughLine: number;
  /** The first few rejections, for the one-line reason of a failed run. */
  firstRejects: { line: number; reason: string }[];
  /** Stopped early (Ctrl-C) after a whole batch. */
  interrupted: boolean;
  /** A write failed (Redis): the rows after `storedThroughLine` may not be stored. */
  error?: unknown;
}

/** The problem with one row's trigger, as `Producer.check` would put it; undefined if fine (pure). */
export function rowProblem(input: FlowInput, key: string | null): string | undefined {
  const problem = checkTriggerInput(input);
  if (problem) return `${problem.field} ${problem.message}`;
  if (key !== null && key.length > MAX_KEY_LENGTH) {
    return `the key is longer than ${MAX_KEY_LENGTH} characters`;
  }
  return undefined;
}

/**
 * Reads rows, rejects the bad ones (to the rejects file, with their line numbers), and writes the
 * good ones in batches of `batchSize`, waiting for each batch to be stored before reading on: the
 * file is never read faster than Redis takes it, so memory holds one batch whatever the file size.
 */
export async function runEnqueue(options: {
  rows: AsyncIterable<SourceRow>;
  write: BatchWriter | undefined;
  batchSize: number;
  rejects: RejectsFile;
  progress: EnqueueProgress;
  shouldStop: () => boolean;
  /** A row's problem beyond its shape (the flow's describe), or undefined. */
  checkInput?: (input: FlowInput) => string | undefined;
}): Promise<EnqueueResult> {
  const { rows, write, batchSize, rejects, progress, shouldStop, checkInput } = options;
  const result: EnqueueResult = {
    rows: 0,
    bytes: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    storedThroughLine: 0,
    firstRejects: [],
    interrupted: false,
  };
  let inputs: FlowInput[] = [];
  let keys: (string | null)[] = [];
  let notBefores: (number | null)[] = [];
  let scheduledRows = false;
  let batchLastLine = 0;

  const flush = async () => {
    if (inputs.length === 0) return;
    const sent = inputs;
    const sentKeys = keys;
    const sentNotBefores = scheduledRows ? notBefores : undefined;
    inputs = [];
    keys = [];
    notBefores = [];
    scheduledRows = false;
    if (write) {
      let receipts: readonly { duplicate: boolean }[];
      try {
        receipts = await write(sent, sentKeys, sentNotBefores);
      } catch (err) {
        throw new WriteFailure(err);
      }
      for (const receipt of receipts) {
        if (receipt.duplicate) result.duplicates++;
        else result.accepted++;
      }
    } else {
      result.accepted += sent.length;
    }
    result.storedThroughLine = batchLastLine;
  };
  const reject = async (line: number, lastLine: number, reason: string, extra: object) => {
    result.rejected++;
    if (result.firstRejects.length < 5) result.firstRejects.push({ line, reason });
    await rejects.write({ line, ...(lastLine !== line ? { lastLine } : {}), reason, ...extra });
  };

  try {
    for await (const row of rows) {
      result.rows++;
      result.bytes = row.endOffset;
      if ('problem' in row) {
        await reject(row.line, row.lastLine, row.problem, {
          ...(row.raw !== undefined ? { raw: row.raw } : {}),
          ...(row.cells !== undefined ? { cells: row.cells } : {}),
        });
      } else {
        let notBefore: number | undefined;
        let problem = rowProblem(row.input, row.key) ?? checkInput?.(row.input);
        if (!problem && row.notBefore !== undefined) {
          try {
            notBefore = readNotBefore(row.notBefore, undefined, Date.now());
          } catch (err) {
            problem = err instanceof Error ? err.message : String(err);
          }
        }
        if (problem) await reject(row.line, row.lastLine, problem, { input: row.input });
        else {
          inputs.push(row.input);
          keys.push(row.key);
          notBefores.push(notBefore ?? null);
          if (notBefore !== undefined) scheduledRows = true;
          batchLastLine = row.lastLine;
          if (inputs.length >= batchSize) await flush();
        }
      }
      progress.update(result);
      if (shouldStop()) {
        // Every row read so far is stored (or rejected) before stopping.
        await flush();
        result.interrupted = true;
        break;
      }
    }
    if (!result.interrupted) await flush();
  } catch (err) {
    if (err instanceof WriteFailure) result.error = err.cause;
    else if (result.rows === 0)
      throw err; // the file could not be read at all (a bad header)
    else result.error = err;
  } finally {
    progress.stop(result);
    await rejects.close();
  }
  return result;
}

/** A batch write that failed: the run stops there and reports what was stored. */
class WriteFailure extends Error {
  override readonly name = 'WriteFailure';
  readonly code = 'ENQUEUE_WRITE_FAILED';

  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
