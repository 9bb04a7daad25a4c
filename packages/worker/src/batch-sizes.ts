/**
 * The most inputs per call, per flow. Every flow starts at SF_MAX_INPUTS_PER_CALL. When a call
 * fails with a governor limit on every input (too many SOQL queries, CPU time...: the flow's
 * transaction was too big), the flow's size drops to half of what that call carried; after a quiet
 * `growDelayMs` it grows back by 10 % per full call that went through. Per process: each worker
 * learns it from its own first failure, which costs one refused call.
 */
export class BatchSizes {
  readonly #flows = new Map<string, { size: number; shrunkAt: number }>();

  constructor(
    readonly max: number,
    private readonly growDelayMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(flow: string): number {
    return this.#flows.get(flow)?.size ?? this.max;
  }

  /** A call of `sent` inputs hit a governor limit on every input. Returns the new size. */
  shrink(flow: string, sent: number): number {
    const size = Math.max(1, Math.min(this.get(flow), Math.floor(sent / 2)));
    this.#flows.set(flow, { size, shrunkAt: this.clock() });
    return size;
  }

  /** A call of `sent` inputs went through. */
  succeeded(flow: string, sent: number): void {
    const state = this.#flows.get(flow);
    if (!state || sent < state.size || this.clock() - state.shrunkAt < this.growDelayMs) return;
    state.size = Math.min(this.max, state.size + Math.max(1, Math.ceil(state.size * 0.1)));
    if (state.size >= this.max) this.#flows.delete(flow);
  }
}
