/**
 * Splits a byte stream into lines (LF or CRLF), one chunk at a time, in bounded memory: a line
 * longer than `maxLineBytes` is reported and skipped, never buffered whole. Lines are decoded as
 * strict UTF-8; a line that is not is reported. Blank lines are skipped.
 */

export type LineEvent =
  | { kind: 'line'; text: string; line: number; endOffset: number }
  | { kind: 'invalid'; line: number; reason: string; raw: string; endOffset: number };

const LF = 0x0a;
const RAW_CHARS = 2_000;

export class LineReader {
  readonly #maxLineBytes: number;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  #parts: Uint8Array[] = [];
  #length = 0;
  #line = 1;
  #offset = 0;
  #tooLong = false;

  constructor(options: { maxLineBytes: number }) {
    this.#maxLineBytes = options.maxLineBytes;
  }

  get offset(): number {
    return this.#offset;
  }

  push(chunk: Uint8Array): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(LF, start);
      const end = newline === -1 ? chunk.length : newline;
      this.#keep(chunk.subarray(start, end));
      if (newline === -1) {
        this.#offset += chunk.length - start;
        return events;
      }
      this.#offset += newline + 1 - start;
      this.#emit(events);
      start = newline + 1;
    }
  }

  end(): LineEvent[] {
    const events: LineEvent[] = [];
    if (this.#length > 0 || this.#tooLong) this.#emit(events);
    return events;
  }

  #keep(part: Uint8Array): void {
    if (part.length === 0) return;
    if (this.#tooLong || this.#length + part.length > this.#maxLineBytes) {
      // Keep the start of the line for the report, drop the rest.
      if (!this.#tooLong) this.#parts.push(part.subarray(0, Math.max(0, RAW_CHARS - this.#length)));
      this.#tooLong = true;
      return;
    }
    this.#parts.push(Buffer.from(part));
    this.#length += part.length;
  }

  #emit(events: LineEvent[]): void {
    const bytes = Buffer.concat(this.#parts);
    const line = this.#line++;
    const tooLong = this.#tooLong;
    this.#parts = [];
    this.#length = 0;
    this.#tooLong = false;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    const content = bytes.subarray(0, end);
    if (tooLong) {
      events.push({
        kind: 'invalid',
        line,
        reason: `the line is longer than ${this.#maxLineBytes} bytes`,
        raw: lossy(content),
        endOffset: this.#offset,
      });
      return;
    }
    let text: string;
    try {
      text = this.#decoder.decode(content);
    } catch {
      events.push({
        kind: 'invalid',
        line,
        reason: 'the line is not valid UTF-8 (convert the file, e.g. iconv -f LATIN1 -t UTF-8)',
        raw: lossy(content),
        endOffset: this.#offset,
      });
      return;
    }
    if (text.trim() === '') return;
    events.push({ kind: 'line', text, line, endOffset: this.#offset });
  }
}

function lossy(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes).slice(0, RAW_CHARS);
}
