import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';

/** One rejected row, as a line of the rejects file. */
export interface RejectedRow {
  line: number;
  lastLine?: number;
  reason: string;
  raw?: string;
  cells?: Record<string, string>;
  input?: unknown;
}

/**
 * The rejects file: one JSON object per rejected row (`line`, `reason`, and the row's text or
 * cells), so a person can fix the rows and send just them again. It describes one run: an old one
 * is removed when the run starts, and the file is only created once a row is rejected. Writes wait
 * for the disk (backpressure), so a file of bad rows never piles up in memory.
 */
export class RejectsFile {
  #stream: WriteStream | undefined;
  #count = 0;

  constructor(readonly path: string) {}

  /** Removes the file of an earlier run. */
  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }

  get count(): number {
    return this.#count;
  }

  async write(row: RejectedRow): Promise<void> {
    this.#count++;
    if (!this.#stream) {
      this.#stream = createWriteStream(this.path, { flags: 'w' });
      this.#stream.on('error', () => {});
    }
    const stream = this.#stream;
    if (stream.errored) throw stream.errored;
    if (!stream.write(`${JSON.stringify(row)}\n`)) {
      await Promise.race([once(stream, 'drain'), once(stream, 'error')]);
      if (stream.errored) throw stream.errored;
    }
  }

  async close(): Promise<void> {
    const stream = this.#stream;
    if (!stream) return;
    this.#stream = undefined;
    await new Promise<void>((resolve, reject) =>
      stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}
