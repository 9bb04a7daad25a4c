import cliProgress from 'cli-progress';
import { formatCount, formatDuration, formatRate } from './format-number.js';

/**
 * `drain`'s progress on stderr: on a terminal, a bar from the largest backlog seen to zero with
 * the pending count, the settle rate and cli-progress's ETA; otherwise a plain line every 5 s
 * (logs and CI read those).
 */
export class DrainProgress {
  readonly #bar: cliProgress.SingleBar | undefined;
  #total = 0;
  #lastLine = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {
    if (stream.isTTY !== true) return;
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format:
          'draining [{bar}] {percentage}% | {pending} pending | {rate}/s | ETA {eta_formatted} | {elapsed}',
        hideCursor: true,
        etaBuffer: 30,
        fps: 2,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  /** The backlog now (`pending`), its drain rate (triggers/s) and the time spent. */
  update(pending: number, ratePerSecond: number, elapsedMs: number, now = Date.now()): void {
    const rate = formatRate(Math.max(0, ratePerSecond));
    const elapsed = `${formatDuration(elapsedMs)} elapsed`;
    if (this.#bar) {
      const payload = { pending: formatCount(pending), rate, elapsed };
      if (this.#total === 0) this.#bar.start(Math.max(1, pending), 0, payload);
      if (pending > this.#total) {
        this.#total = pending;
        this.#bar.setTotal(pending);
      }
      this.#bar.update(this.#total - pending, payload);
      return;
    }
    if (now - this.#lastLine < 5_000) return;
    this.#lastLine = now;
    const eta =
      ratePerSecond > 0 ? `, ETA ${formatDuration((pending / ratePerSecond) * 1_000)}` : '';
    this.stream.write(
      `draining: ${formatCount(pending)} trigger(s) pending, ${rate}/s${eta}, ${elapsed}\n`,
    );
  }

  stop(): void {
    this.#bar?.stop();
  }
}
