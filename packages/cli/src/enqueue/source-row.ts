import type { FlowInput } from '@flow-dispatcher/shared';
import { UsageError } from '../usage-error.js';

/** How columns (CSV) or top-level fields (NDJSON) become a trigger. */
export interface RowMapping {
  /** Column → input name (`--map col=Input`). */
  rename: ReadonlyMap<string, string>;
  /** Columns not sent (`--drop-column`). */
  drop: ReadonlySet<string>;
  /** CSV columns whose cells are JSON (`--json-column`): numbers, booleans, objects, lists. */
  json: ReadonlySet<string>;
  /** The column holding each row's idempotency key (`--key-column`). */
  keyColumn: string | undefined;
  /** Send the key column as an input too (`--key-as-input`); otherwise it is only the key. */
  keyAsInput?: boolean;
  /** The column holding each row's notBefore (`--not-before-column`); never an input. */
  notBeforeColumn?: string | undefined;
}

/** A column (CSV) or top-level field (NDJSON) that is sent, and the input it becomes. */
export interface InputColumn {
  column: string;
  input: string;
}

/**
 * Called once with the columns a file sends (a CSV header, or the fields of an NDJSON file's
 * first rows) before any of its rows is passed on; it may throw a UsageError to stop the run.
 */
export type ColumnsCheck = (columns: readonly InputColumn[]) => void;

/** Rows an NDJSON file is read ahead by before its fields are checked. */
export const NDJSON_CHECKED_ROWS = 100;

/** The input a column or field becomes, or undefined when it is not sent (pure). */
export function inputOf(name: string, mapping: RowMapping): string | undefined {
  if (mapping.drop.has(name)) return undefined;
  if (name === mapping.notBeforeColumn) return undefined;
  if (name === mapping.keyColumn && mapping.keyAsInput !== true) return undefined;
  return mapping.rename.get(name) ?? name;
}

/** One row of the input file: a trigger to send, or the reason it cannot be. */
export type SourceRow =
  | {
      line: number;
      lastLine: number;
      input: FlowInput;
      key: string | null;
      /** The row's notBefore cell (`--not-before-column`), as written; undefined: none. */
      notBefore?: string | number | undefined;
      /** Bytes of the file read once this row ended (for progress). */
      endOffset: number;
    }
  | {
      line: number;
      lastLine: number;
      problem: string;
      /** What the row held: its text when it could not be parsed, its cells otherwise. */
      raw?: string;
      cells?: Record<string, string>;
      endOffset: number;
    };

/** Input names Salesforce accepts (as checkTriggerInput does). */
export const INPUT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

/**
 * Passes the byte stream on without a UTF-8 byte order mark; refuses UTF-16 and UTF-32 files
 * outright (every row would be garbage) with the command that converts them.
 */
export async function* withoutByteOrderMark(
  chunks: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let head = Buffer.alloc(0);
  let checked = false;
  for await (const chunk of chunks) {
    if (checked) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < 4) continue;
    checked = true;
    yield checkHead(head);
  }
  if (!checked && head.length > 0) yield checkHead(head);
}

function checkHead(head: Buffer): Buffer {
  if (
    (head[0] === 0xff && head[1] === 0xfe) ||
    (head[0] === 0xfe && head[1] === 0xff) ||
    (head[0] === 0 && head[1] === 0 && head[2] === 0xfe && head[3] === 0xff)
  ) {
    throw new UsageError(
      'the file is UTF-16 or UTF-32, not UTF-8: convert it first, e.g. iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8',
    );
  }
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return head.subarray(3);
  return head;
}
