import type { FlowInput } from '@flow-dispatcher/shared';
import { defaults } from '@flow-dispatcher/shared/config';
import { UsageError } from '../usage-error.js';
import { CsvRecordReader } from './csv-record-reader.js';
import {
  type ColumnsCheck,
  INPUT_NAME,
  type InputColumn,
  inputOf,
  type RowMapping,
  type SourceRow,
  withoutByteOrderMark,
} from './source-row.js';

/**
 * The rows of a CSV file as triggers. The header row names the inputs (renamed with `--map`,
 * dropped with `--drop-column`); every cell is a string, an empty cell is left out of the input,
 * and a `--json-column` cell is parsed as JSON (for numbers, booleans and nested objects; NDJSON
 * input carries types natively). The key column is not an input unless `--key-as-input`. Header
 * problems stop everything (exit 2), before any row: nothing could be sent. `checkColumns` (the
 * flow's describe) is one of them.
 */
export async function* csvRows(
  chunks: AsyncIterable<Uint8Array>,
  mapping: RowMapping,
  options: { delimiter?: string; checkColumns?: ColumnsCheck } = {},
): AsyncGenerator<SourceRow> {
  const reader = new CsvRecordReader({
    delimiter: options.delimiter ?? ',',
    maxRecordBytes: defaults.enqueueMaxRecordBytes,
  });
  let builder: CsvRowBuilder | undefined;
  const rows = function* (events: ReturnType<CsvRecordReader['push']>): Generator<SourceRow> {
    for (const event of events) {
      if (event.kind === 'invalid') {
        if (!builder) {
          throw new UsageError(`the header (line ${event.line}) cannot be read: ${event.reason}`);
        }
        yield {
          line: event.line,
          lastLine: event.lastLine,
          problem: event.reason,
          raw: event.raw,
          endOffset: event.endOffset,
        };
      } else if (!builder) {
        builder = new CsvRowBuilder(event.fields, mapping);
        options.checkColumns?.(builder.columns);
      } else {
        yield builder.build(event.fields, event.line, event.lastLine, event.endOffset);
      }
    }
  };
  for await (const chunk of withoutByteOrderMark(chunks)) yield* rows(reader.push(chunk));
  yield* rows(reader.end());
  if (!builder) throw new UsageError('the file is empty: a CSV file needs a header row');
}

/** Turns the cells of one CSV record into a trigger, as the header and the flags say (pure). */
export class CsvRowBuilder {
  /** Per column: the input it becomes (undefined: not sent). */
  readonly #targets: (string | undefined)[];
  readonly #json: boolean[];
  readonly #keyIndex: number | undefined;
  readonly #notBeforeIndex: number | undefined;
  readonly #header: string[];
  /** The columns sent, in header order, with the input each becomes. */
  readonly columns: readonly InputColumn[];

  constructor(header: readonly string[], mapping: RowMapping) {
    this.#header = header.map((name) => name.trim());
    const where = (name: string) => this.#header.indexOf(name);
    const listed = () => this.#header.map((h) => JSON.stringify(h)).join(', ');
    const seen = new Map<string, number>();
    this.#header.forEach((name, i) => {
      const first = seen.get(name);
      if (first !== undefined) {
        throw new UsageError(
          `column ${JSON.stringify(name)} appears twice in the header (columns ${first + 1} and ${i + 1})`,
        );
      }
      seen.set(name, i);
    });
    const flagColumns: [string, Iterable<string>][] = [
      ['--map', mapping.rename.keys()],
      ['--drop-column', mapping.drop],
      ['--json-column', mapping.json],
      ['--key-column', mapping.keyColumn === undefined ? [] : [mapping.keyColumn]],
    ];
    for (const [flag, columns] of flagColumns) {
      for (const column of columns) {
        if (where(column) === -1) {
          throw new UsageError(
            `${flag} ${JSON.stringify(column)}: the header has no such column (it has ${listed()})`,
          );
        }
      }
    }
    const inputs = new Map<string, string>();
    this.#targets = this.#header.map((name, i) => {
      const target = inputOf(name, mapping);
      if (target === undefined) return undefined;
      if (!INPUT_NAME.test(target)) {
        throw new UsageError(
          `column ${i + 1} ${JSON.stringify(name)} is not a Salesforce input name: rename it (--map '${name}=InputName') or leave it out (--drop-column '${name}')`,
        );
      }
      const other = inputs.get(target);
      if (other !== undefined) {
        throw new UsageError(
          `columns ${JSON.stringify(other)} and ${JSON.stringify(name)} would both be input ${target}`,
        );
      }
      inputs.set(target, name);
      return target;
    });
    if (!inputs.has('IndividualId')) {
      throw new UsageError(
        `no IndividualId column (every trigger needs one): the header has ${listed()}; rename a column with --map COLUMN=IndividualId`,
      );
    }
    this.columns = this.#header.flatMap((column, i) => {
      const input = this.#targets[i];
      return input === undefined ? [] : [{ column, input }];
    });
    this.#json = this.#header.map((name) => mapping.json.has(name));
    this.#keyIndex = mapping.keyColumn === undefined ? undefined : where(mapping.keyColumn);
    this.#notBeforeIndex =
      mapping.notBeforeColumn === undefined ? undefined : where(mapping.notBeforeColumn);
  }

  build(fields: readonly string[], line: number, lastLine: number, endOffset: number): SourceRow {
    const cells = () => Object.fromEntries(this.#header.map((name, i) => [name, fields[i] ?? '']));
    if (fields.length !== this.#header.length) {
      return {
        line,
        lastLine,
        problem: `has ${fields.length} field(s), the header has ${this.#header.length}`,
        cells: cells(),
        endOffset,
      };
    }
    const input: FlowInput = {};
    for (let i = 0; i < fields.length; i++) {
      const target = this.#targets[i];
      const cell = fields[i] as string;
      if (target === undefined || cell === '') continue;
      if (this.#json[i]) {
        try {
          input[target] = JSON.parse(cell);
        } catch {
          return {
            line,
            lastLine,
            problem: `column ${JSON.stringify(this.#header[i])} is not valid JSON`,
            cells: cells(),
            endOffset,
          };
        }
      } else input[target] = cell;
    }
    let key: string | null = null;
    if (this.#keyIndex !== undefined) {
      key = fields[this.#keyIndex] ?? '';
      if (key === '') {
        return {
          line,
          lastLine,
          problem: `the key column ${JSON.stringify(this.#header[this.#keyIndex])} is empty`,
          cells: cells(),
          endOffset,
        };
      }
    }
    // An empty notBefore cell: sent as soon as possible.
    const notBefore =
      this.#notBeforeIndex === undefined ? undefined : fields[this.#notBeforeIndex] || undefined;
    return { line, lastLine, input, key, notBefore, endOffset };
  }
}
