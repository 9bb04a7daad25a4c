import type { FlowInput } from '@flow-dispatcher/shared';
import { UsageError } from '../usage-error.js';
import { LineReader } from './line-reader.js';
import { INPUT_NAME, type RowMapping, type SourceRow, withoutByteOrderMark } from './source-row.js';

/**
 * The lines of an NDJSON file as triggers: each line is one JSON object, the trigger's input,
 * with JSON's own types (numbers, booleans, nested objects). `--map` renames and `--drop-column`
 * removes top-level fields; `--key-column` names the field holding the idempotency key (a string
 * or a number).
 */
export async function* ndjsonRows(
  chunks: AsyncIterable<Uint8Array>,
  mapping: RowMapping,
): AsyncGenerator<SourceRow> {
  if (mapping.json.size > 0) {
    throw new UsageError('--json-column is for CSV files: NDJSON values are JSON already');
  }
  for (const target of mapping.rename.values()) {
    if (!INPUT_NAME.test(target)) {
      throw new UsageError(`--map: ${JSON.stringify(target)} is not a Salesforce input name`);
    }
  }
  const reader = new LineReader();
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
  for await (const chunk of withoutByteOrderMark(chunks)) yield* rows(reader.push(chunk));
  yield* rows(reader.end());
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
    if (mapping.drop.has(name)) continue;
    const target = mapping.rename.get(name) ?? name;
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
  return { line, lastLine: line, input, key, endOffset };
}
