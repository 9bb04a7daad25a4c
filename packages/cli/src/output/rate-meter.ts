/**
 * A rate over the last `windowMs` from samples of a running total (pure: the caller passes the
 * time). Used for rows/s while enqueueing and triggers/s while draining; a window rather than the
 * whole run's average, so the ETA follows the rate the fleet has now.
 */
export class RateMeter {
  #samples: { at: number; total: number }[] = [];

  constructor(private readonly windowMs: number) {}

  /** Records that the running total was `total` at `at` (epoch ms). */
  sample(at: number, total: number): void {
    this.#samples.push({ at, total });
    while (this.#samples.length > 2 && (this.#samples[0]?.at ?? at) < at - this.windowMs) {
      this.#samples.shift();
    }
  }

  /** Change per second over the window (negative when the total falls); 0 before two samples. */
  perSecond(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.at <= first.at) return 0;
    return ((last.total - first.total) * 1_000) / (last.at - first.at);
  }
}
