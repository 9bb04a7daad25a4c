/**
 * Per flow, tells a sender's systematic mistake from triggers that are bad on their own (pure;
 * one per worker process, the hold it trips is fleet-wide).
 *
 * It watches the calls of a flow in the order their answers come:
 *
 *   quiet ──a call whose every input failed alike (signature S)──► counting S
 *   counting S ──another such call, same S──► counting S (calls + 1, triggers + its new ones)
 *   counting S ──a success, or a call with mixed errors──► quiet
 *   counting S ──a uniform call with another signature──► counting that one
 *   counting S ──calls ≥ `calls` and triggers ≥ `triggers`──► tripped (the flow is held)
 *
 * Only new evidence counts: triggers already counted once (the halves of a call refused whole,
 * sent again to find a bad input) add nothing, so one bad input among good ones, bisected, never
 * trips it; and an answer that says nothing of the inputs (503, timeout, a limit) leaves the
 * state alone. Both thresholds must be met: a few calls, so that one unlucky call of a busy flow
 * does not hold it; and a dozen-odd triggers, so that a few lone bad triggers of a quiet flow,
 * each sent alone, do not either.
 *
 * Trade-off: the calls that build the evidence are spent (their triggers are kept for a retry,
 * not dead-lettered, while the call carried several: reconcile-call.ts), and up to the fleet's
 * calls in flight may be answered the same way before every worker sees the hold.
 */
export interface BreakerThresholds {
  /** Uniformly failed calls in a row, with the same signature. */
  calls: number;
  /** Distinct triggers those calls carried. */
  triggers: number;
}

/** What one answered call showed, for the breaker. */
export interface BreakerObservation {
  /** The shared error of every input (failure-pattern.ts), or undefined. */
  signature: string | undefined;
  /** At least one input succeeded. */
  succeeded: boolean;
  /** Triggers of the call not counted as evidence before. */
  fresh: number;
}

export class FlowBreaker {
  readonly #flows = new Map<string, { signature: string; calls: number; triggers: number }>();

  constructor(private readonly thresholds: BreakerThresholds) {}

  /**
   * Records one call of `flow` whose answer speaks of its inputs (per-input results, or a refusal
   * of the whole call); true when it trips the breaker. Other answers are not observed.
   */
  observe(flow: string, observation: BreakerObservation): boolean {
    const { signature, succeeded, fresh } = observation;
    if (succeeded || signature === undefined) {
      this.#flows.delete(flow);
      return false;
    }
    if (fresh === 0) return false;
    let state = this.#flows.get(flow);
    if (!state || state.signature !== signature) {
      state = { signature, calls: 0, triggers: 0 };
      this.#flows.set(flow, state);
    }
    state.calls++;
    state.triggers += fresh;
    if (state.calls >= this.thresholds.calls && state.triggers >= this.thresholds.triggers) {
      this.#flows.delete(flow);
      return true;
    }
    return false;
  }

  /** Forgets what was counted for `flow` (it was held, or released). */
  reset(flow: string): void {
    this.#flows.delete(flow);
  }
}
