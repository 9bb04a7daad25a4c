import cliProgress from 'cli-progress';
import { formatCount, formatDuration, formatRate } from '../output/format-number.js';
import { RateMeter } from '../output/rate-meter.js';

export interface EnqueueCounts {
  rows: number;
  /** Bytes of the input read so far. */
  bytes: number;
  accepted: number;
  duplicates: number;
  rejected: number;
}

const PLAIN_LINE_EVERY_MS = 5_000;

/**
 * The plain progress line written when stderr is not a terminal (pure). The ETA comes from the
 * file size and the byte rate; without a size (stdin) there is none.
 */
export function progressLine(
  label: string,
  counts: EnqueueCounts,
  rowsPerSecond: number,
  bytesPerSecond: number,
  totalBytes: number | undefined,
): string {
  const parts = [`${label}: ${formatCount(counts.rows)} rows`];
  if (totalBytes !== undefined && totalBytes > 0) {
    parts.push(`${Math.min(100, Math.floor((counts.bytes / totalBytes) * 100))}% of the file`);
  }
  parts.push(`${formatRate(rowsPerSecond)} rows/s`);
  if (totalBytes !== undefined && bytesPerSecond > 0) {
    parts.push(
      `ETA ${formatDuration((Math.max(0, totalBytes - counts.bytes) / bytesPerSecond) * 1_000)}`,
    );
  }
  parts.push(
    `${formatCount(counts.accepted)} accepted, ${formatCount(counts.duplicates)} duplicates, ${formatCount(counts.rejected)} rejected`,
  );
  return parts.join(', ');
}

/**
 * Progress on stderr (stdout keeps the summary): a bar with rows/s and ETA on a terminal, a plain
 * line every 5 seconds otherwise, nothing with `enabled: false`.
 */
export class EnqueueProgress {
  readonly #rows = new RateMeter(10_000);
  readonly #bytes = new RateMeter(10_000);
  readonly #bar: cliProgress.SingleBar | undefined;
  #lastLine = 0;
  #lastSample = 0;

  constructor(
    private readonly options: {
      label: string;
      totalBytes: number | undefined;
      stream: NodeJS.WriteStream;
      enabled: boolean;
    },
  ) {
    const { stream, totalBytes, label, enabled } = options;
    if (!enabled || stream.isTTY !== true) return;
    const sized = totalBytes !== undefined && totalBytes > 0;
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format: sized
          ? `${label} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted} | {rejected} rejected`
          : `${label} {rows} rows | {rate} rows/s | {duration_formatted} | {rejected} rejected`,
        hideCursor: true,
        etaBuffer: 200,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar.start(sized ? totalBytes : 1, 0, { rows: '0', rate: '0', rejected: '0' });
  }

  update(counts: EnqueueCounts, now = Date.now()): void {
    // Called for every row: sample at most five times a second.
    if (now - this.#lastSample < 200) return;
    this.#lastSample = now;
    this.#rows.sample(now, counts.rows);
    this.#bytes.sample(now, counts.bytes);
    const { totalBytes, enabled, stream, label } = this.options;
    if (this.#bar) {
      this.#bar.update(totalBytes ? Math.min(counts.bytes, totalBytes) : 0, {
        rows: formatCount(counts.rows),
        rate: formatRate(this.#rows.perSecond()),
        rejected: formatCount(counts.rejected),
      });
      return;
    }
    if (!enabled || now - this.#lastLine < PLAIN_LINE_EVERY_MS) return;
    if (this.#lastLine === 0) {
      this.#lastLine = now;
      return;
    }
    this.#lastLine = now;
    stream.write(
      `${progressLine(label, counts, this.#rows.perSecond(), this.#bytes.perSecond(), totalBytes)}\n`,
    );
  }

  /** Shows the final counts (the last update may have been skipped) and ends the bar. */
  stop(final?: EnqueueCounts): void {
    if (this.#bar && final) {
      const { totalBytes } = this.options;
      this.#bar.update(totalBytes ? Math.min(final.bytes, totalBytes) : 0, {
        rows: formatCount(final.rows),
        rate: formatRate(this.#rows.perSecond()),
        rejected: formatCount(final.rejected),
      });
    }
    this.#bar?.stop();
  }
}
