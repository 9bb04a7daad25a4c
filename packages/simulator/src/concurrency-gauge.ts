/**
 * Invoke calls in flight.
 *
 * State: `open` (invoke POSTs between arrival and the end of their answer, refused ones included),
 * `admitted` (those let past the concurrency cap) and `highest` (the largest `open` seen).
 * Transitions: arrive/depart move `open`; admit/release move `admitted`.
 *
 * Trade-off: `highest` counts refused calls too, so a client that overshoots the cap shows it,
 * while the cap itself only counts calls that were let in (as the org counts running requests).
 */
export class ConcurrencyGauge {
  #open = 0;
  #admitted = 0;
  #highest = 0;

  /** Returns how many calls are open, this one included. */
  arrive(): number {
    this.#open++;
    if (this.#open > this.#highest) this.#highest = this.#open;
    return this.#open;
  }

  depart(): void {
    this.#open--;
  }

  admit(max: number): boolean {
    if (this.#admitted >= max) return false;
    this.#admitted++;
    return true;
  }

  release(): void {
    this.#admitted--;
  }

  get open(): number {
    return this.#open;
  }

  get highest(): number {
    return this.#highest;
  }

  /** Forgets the peak; calls still open count towards the next one. */
  resetHighest(): void {
    this.#highest = this.#open;
  }
}
