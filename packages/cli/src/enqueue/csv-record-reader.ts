/**
 * Splits a CSV byte stream into records (RFC 4180), one chunk at a time, in bounded memory.
 *
 * States, per byte: field-start → unquoted (until a delimiter or a line end) or quoted (from a
 * quote at the start of a field) → quote-in-quoted (a quote seen inside quotes: `""` is a literal
 * quote, anything else closes the field) → closed (after the closing quote: only a delimiter or a
 * line end may follow). Any other byte there, a quote inside an unquoted field, or a record longer
 * than `maxRecordBytes` is an error: the record is reported with its line numbers and the reader
 * skips to the end of that physical line and starts afresh. The trade-off: a broken quote costs
 * the lines it spans, never the rest of the file (csv-parse 7, with skip_records_with_error, keeps
 * quoting after an invalid closing quote and swallows every following row into one bad record;
 * it also counts a CRLF inside quotes as two lines).
 *
 * Fields are decoded as strict UTF-8: a record with bytes that are not UTF-8 is reported, not
 * sent with replacement characters. Line ends are LF or CRLF; empty lines are skipped. Memory is
 * bounded by `maxRecordBytes` whatever the file size.
 */

export type CsvEvent =
  | {
      kind: 'record';
      fields: string[];
      /** First and last physical line of the record (1-based). */
      line: number;
      lastLine: number;
      /** Bytes of the input consumed once this record ended. */
      endOffset: number;
    }
  | {
      kind: 'invalid';
      line: number;
      lastLine: number;
      reason: string;
      /** The record's text (invalid UTF-8 replaced), cut at 2,000 characters. */
      raw: string;
      endOffset: number;
    };

export interface CsvReaderOptions {
  /** One ASCII character. @defaultValue ',' */
  delimiter?: string;
  /** A longer record is reported and skipped. */
  maxRecordBytes: number;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const RAW_CHARS = 2_000;

enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  Closed,
  Skip,
}

export class CsvRecordReader {
  readonly #delimiter: number;
  readonly #maxRecordBytes: number;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  #state: State = State.FieldStart;
  #field = Buffer.alloc(256);
  #fieldLength = 0;
  #fields: string[] = [];
  #badColumn: number | undefined;
  #raw = Buffer.alloc(256);
  #rawLength = 0;
  #line = 1;
  #recordLine = 1;
  #offset = 0;
  #error: string | undefined;

  constructor(options: CsvReaderOptions) {
    const delimiter = options.delimiter ?? ',';
    if (delimiter.length !== 1 || delimiter.charCodeAt(0) > 0x7f || /["\r\n]/.test(delimiter)) {
      throw new RangeError(
        'the delimiter must be one ASCII character other than a quote or a line end',
      );
    }
    this.#delimiter = delimiter.charCodeAt(0);
    this.#maxRecordBytes = options.maxRecordBytes;
  }

  /** Feeds the next chunk; returns the records (and bad records) it completed. */
  push(chunk: Uint8Array): CsvEvent[] {
    const events: CsvEvent[] = [];
    const delimiter = this.#delimiter;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      this.#offset++;
      if (this.#state === State.Skip) {
        this.#keepRaw(b);
        if (b === LF) {
          events.push(this.#invalid(this.#error ?? 'malformed record', this.#line));
          this.#line++;
          this.#reset();
        }
        continue;
      }
      if (this.#rawLength === 0 && this.#fields.length === 0) this.#recordLine = this.#line;
      this.#keepRaw(b);
      if (this.#rawLength > this.#maxRecordBytes) {
        this.#fail(
          `the record is longer than ${this.#maxRecordBytes} bytes (a quote that is never closed?)`,
        );
        if (b === LF) {
          events.push(this.#invalid(this.#error ?? '', this.#line));
          this.#line++;
          this.#reset();
        }
        continue;
      }
      switch (this.#state) {
        case State.FieldStart:
          if (b === QUOTE) this.#state = State.Quoted;
          else if (b === delimiter) this.#endField();
          else if (b === LF) this.#endRecord(events);
          else {
            this.#append(b);
            this.#state = State.Unquoted;
          }
          break;
        case State.Unquoted:
          if (b === delimiter) this.#endField();
          else if (b === LF) this.#endRecord(events);
          else if (b === QUOTE) {
            this.#fail(
              `a quote inside an unquoted field (column ${this.#fields.length + 1}): quote the whole field and double the quotes inside it`,
            );
          } else this.#append(b);
          break;
        case State.Quoted:
          if (b === QUOTE) this.#state = State.QuoteInQuoted;
          else {
            if (b === LF) this.#line++;
            this.#append(b);
          }
          break;
        case State.QuoteInQuoted:
          if (b === QUOTE) {
            this.#append(QUOTE);
            this.#state = State.Quoted;
          } else this.#afterClosingQuote(b, events);
          break;
        case State.Closed:
          this.#afterClosingQuote(b, events);
          break;
      }
    }
    return events;
  }

  /** Ends the input; returns the last record, or the error of an unfinished one. */
  end(): CsvEvent[] {
    const events: CsvEvent[] = [];
    switch (this.#state) {
      case State.Skip:
        events.push(this.#invalid(this.#error ?? 'malformed record', this.#line));
        break;
      case State.Quoted:
        events.push(
          this.#invalid(
            `a quoted field (column ${this.#fields.length + 1}) is never closed`,
            this.#line,
          ),
        );
        break;
      default:
        if (this.#rawLength > 0 || this.#fields.length > 0) this.#endRecord(events, false);
    }
    this.#reset();
    return events;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.#offset;
  }

  #afterClosingQuote(b: number, events: CsvEvent[]): void {
    if (b === this.#delimiter) this.#endField();
    else if (b === LF) this.#endRecord(events);
    else if (b === CR) this.#state = State.Closed;
    else {
      this.#fail(
        `unexpected text after the closing quote of column ${this.#fields.length + 1} (a quote inside a quoted field must be doubled)`,
      );
    }
  }

  #fail(reason: string): void {
    this.#error = reason;
    this.#state = State.Skip;
  }

  #append(b: number): void {
    if (this.#fieldLength === this.#field.length) {
      const bigger = Buffer.alloc(this.#field.length * 2);
      this.#field.copy(bigger);
      this.#field = bigger;
    }
    this.#field[this.#fieldLength++] = b;
  }

  #keepRaw(b: number): void {
    if (this.#rawLength >= RAW_CHARS * 4) {
      this.#rawLength++;
      return;
    }
    if (this.#rawLength === this.#raw.length) {
      const bigger = Buffer.alloc(this.#raw.length * 2);
      this.#raw.copy(bigger);
      this.#raw = bigger;
    }
    this.#raw[this.#rawLength++] = b;
  }

  #endField(recordEnd = false): void {
    let length = this.#fieldLength;
    // A CRLF line end leaves its CR on an unquoted last field.
    if (recordEnd && this.#state === State.Unquoted && this.#field[length - 1] === CR) length--;
    try {
      this.#fields.push(this.#decoder.decode(this.#field.subarray(0, length)));
    } catch {
      this.#badColumn ??= this.#fields.length + 1;
      this.#fields.push('');
    }
    this.#fieldLength = 0;
    this.#state = State.FieldStart;
  }

  #endRecord(events: CsvEvent[], atLineEnd = true): void {
    const lastLine = this.#line;
    this.#endField(true);
    const fields = this.#fields;
    const empty = fields.length === 1 && fields[0] === '' && this.#badColumn === undefined;
    if (!empty) {
      if (this.#badColumn !== undefined) {
        events.push(
          this.#invalid(
            `column ${this.#badColumn} is not valid UTF-8 (convert the file, e.g. iconv -f LATIN1 -t UTF-8)`,
            lastLine,
          ),
        );
      } else {
        events.push({
          kind: 'record',
          fields,
          line: this.#recordLine,
          lastLine,
          endOffset: this.#offset,
        });
      }
    }
    if (atLineEnd) this.#line++;
    this.#reset();
  }

  #invalid(reason: string, lastLine: number): CsvEvent {
    const shown = Math.min(this.#rawLength, this.#raw.length);
    const raw = new TextDecoder('utf-8')
      .decode(this.#raw.subarray(0, shown))
      .replace(/\r?\n$/, '')
      .slice(0, RAW_CHARS);
    return {
      kind: 'invalid',
      line: this.#recordLine,
      lastLine,
      reason,
      raw,
      endOffset: this.#offset,
    };
  }

  #reset(): void {
    this.#state = State.FieldStart;
    this.#fields = [];
    this.#fieldLength = 0;
    this.#rawLength = 0;
    this.#badColumn = undefined;
    this.#error = undefined;
    this.#recordLine = this.#line;
  }
}
