import type { FlowInput } from '@flow-dispatcher/shared';
import { defaults } from '@flow-dispatcher/shared/config';
import { UsageError } from '../usage-error.js';
import { LineReader } from './line-reader.js';
import {
  type ColumnsCheck,
  INPUT_NAME,
  type InputColumn,
  inputOf,
  NDJSON_CHECKED_ROWS,
  type RowMapping,
  type SourceRow,
  withoutByteOrderMark,
} from './source-row.js';

/**
 * The lines of an NDJSON file as triggers: each line is one JSON object, the trigger's input,
 * with JSON's own types (numbers, booleans, nested objects). `--map` renames and `--drop-column`
 * removes top-level fields; `--key-column` names the field holding the idempotency key (a string
 * or a number), not sent as an input unless `--key-as-input`.
 *
 * With `checkColumns`, the first NDJSON_CHECKED_ROWS lines are read ahead and the fields their
 * valid rows send are checked (an NDJSON file has no header) before any row is passed on.
 */
export async function* ndjsonRows(
  chunks: AsyncIterable<Uint8Array>,
  mapping: RowMapping,
  options: { checkColumns?: ColumnsCheck } = {},
): AsyncGenerator<SourceRow> {
  if (mapping.json.size > 0) {
    throw new UsageError('--json-column is for CSV files: NDJSON values are JSON already');
  }
  for (const target of mapping.rename.values()) {
    if (!INPUT_NAME.test(target)) {
      throw new UsageError(`--map: ${JSON.stringify(target)} is not a Salesforce input name`);
    }
  }
  const reader = new LineReader({ maxLineBytes: defaults.enqueueMaxRecordBytes });
  const rows = function* (events: ReturnType<LineReader['push']>): Generator<SourceRow> {
    for (const event of events) {
      if (event.kind === 'invalid') {
        yield {
          line: event.line,
          lastLine: event.line,
          problem: event.reason,
          raw: event.raw,
          endOffset: event.endOffset,
        };
      } else yield ndjsonRow(event.text, event.line, event.endOffset, mapping);
    }
  };
  const iterator = withoutByteOrderMark(chunks)[Symbol.asyncIterator]();
  /** The rows of the next chunk (parsed as they are taken), or undefined at the end. */
  const read = async (): Promise<Iterable<SourceRow> | undefined> => {
    const next = await iterator.next();
    return next.done ? undefined : rows(reader.push(next.value));
  };
  try {
    let ended = false;
    if (options.checkColumns) {
      // Read ahead, check the fields, then pass the rows read ahead on.
      const ahead: SourceRow[] = [];
      while (!ended && ahead.length < NDJSON_CHECKED_ROWS) {
        const more = await read();
        if (more) ahead.push(...more);
        else {
          ahead.push(...rows(reader.end()));
          ended = true;
        }
      }
      const checked = ahead.slice(0, NDJSON_CHECKED_ROWS);
      if (checked.some((row) => 'input' in row)) {
        options.checkColumns(columnsOf(checked, mapping));
      }
      yield* ahead;
    }
    while (!ended) {
      const more = await read();
      if (more) yield* more;
      else {
        yield* rows(reader.end());
        ended = true;
      }
    }
  } finally {
    await iterator.return?.(undefined);
  }
}

/** The fields the valid rows among `rows` send, each once, in order of first appearance (pure). */
function columnsOf(rows: readonly SourceRow[], mapping: RowMapping): InputColumn[] {
  const columns = new Map<string, InputColumn>();
  for (const row of rows) {
    if (!('input' in row)) continue;
    // The row's input is already mapped: find each input's field through the mapping.
    for (const input of Object.keys(row.input)) {
      if (!columns.has(input)) columns.set(input, { column: fieldOf(input, mapping), input });
    }
  }
  return [...columns.values()];
}

function fieldOf(input: string, mapping: RowMapping): string {
  for (const [field, target] of mapping.rename) {
    if (target === input && inputOf(field, mapping) === input) return field;
  }
  return input;
}

/** One NDJSON line as a trigger (pure). */
export function ndjsonRow(
  text: string,
  line: number,
  endOffset: number,
  mapping: RowMapping,
): SourceRow {
  const bad = (problem: string): SourceRow => ({
    line,
    lastLine: line,
    problem,
    raw: text.slice(0, 2_000),
    endOffset,
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad('not a JSON object (each line must be one trigger input)');
  }
  const source = value as Record<string, unknown>;
  let key: string | null = null;
  if (mapping.keyColumn !== undefined) {
    const raw = source[mapping.keyColumn];
    if (typeof raw === 'number' && Number.isFinite(raw)) key = String(raw);
    else if (typeof raw === 'string' && raw !== '') key = raw;
    else return bad(`the key field ${JSON.stringify(mapping.keyColumn)} is missing or empty`);
  }
  const input: FlowInput = {};
  for (const [name, field] of Object.entries(source)) {
    const target = inputOf(name, mapping);
    if (target === undefined) continue;
    if (Object.hasOwn(input, target)) {
      return bad(`two fields would both be input ${target}`);
    }
    // defineProperty: a "__proto__" field stays a plain (refused) name, never a prototype.
    Object.defineProperty(input, target, {
      value: field,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  let notBefore: string | number | undefined;
  if (mapping.notBeforeColumn !== undefined) {
    const raw = source[mapping.notBeforeColumn];
    if (typeof raw === 'string' || typeof raw === 'number')
      notBefore = raw === '' ? undefined : raw;
    else if (raw != null) {
      return bad(
        `the notBefore field ${JSON.stringify(mapping.notBeforeColumn)} is not a string or number`,
      );
    }
  }
  return { line, lastLine: line, input, key, notBefore, endOffset };
}
