import type { Random } from './seeded-random.js';
import type { FailNext, SimulatorConfig } from './simulator-config.js';

/** A fault that takes over a whole invoke call. */
export type CallFault = 'reset' | 'http502' | 'http503' | 'http429' | 'hang';

/** Checked in this order, both for armed counters and for the rates. */
const order: readonly CallFault[] = ['reset', 'http502', 'http503', 'http429', 'hang'];

/**
 * Whole-call fault decisions.
 *
 * State: the armed counters (`failNext`): how many of the next calls get each fault.
 * Transitions: `arm` replaces the counters; `pick` consumes one armed fault if any is left,
 * otherwise draws one random number against the configured rates. With every rate at zero no
 * random number is drawn, so faults switched off do not shift a seeded sequence.
 */
export class FaultInjector {
  #armed: Record<CallFault, number> = { reset: 0, http502: 0, http503: 0, http429: 0, hang: 0 };

  arm(failNext: FailNext): void {
    this.#armed = {
      reset: failNext.reset ?? 0,
      http502: failNext.http502 ?? 0,
      http503: failNext.http503 ?? 0,
      http429: failNext.http429 ?? 0,
      hang: failNext.hang ?? 0,
    };
  }

  armed(): Record<CallFault, number> {
    return { ...this.#armed };
  }

  pick(config: SimulatorConfig, random: Random): CallFault | null {
    for (const fault of order) {
      if (this.#armed[fault] > 0) {
        this.#armed[fault]--;
        return fault;
      }
    }
    const rates: Record<CallFault, number> = {
      reset: config.resetRate,
      http502: config.http502Rate,
      http503: config.http503Rate,
      http429: config.http429Rate,
      hang: config.hangAfterProcessingRate,
    };
    let total = 0;
    for (const fault of order) total += rates[fault];
    if (total === 0) return null;
    let draw = random();
    for (const fault of order) {
      if (draw < rates[fault]) return fault;
      draw -= rates[fault];
    }
    return null;
  }
}
