/**
 * What reached the flows: IndividualId → how many interviews for it succeeded.
 *
 * State: the map and its two running totals. Transitions: `record` after each successful
 * interview; `clear` on reset. One entry per distinct individual (about 100 bytes each), so a
 * run of a million triggers costs about 100 MB; per-call detail lives in the bounded call log.
 */
export class DeliveryLedger {
  #counts = new Map<string, number>();
  #total = 0;

  record(individualId: string): void {
    this.#counts.set(individualId, (this.#counts.get(individualId) ?? 0) + 1);
    this.#total++;
  }

  clear(): void {
    this.#counts.clear();
    this.#total = 0;
  }

  snapshot(): Map<string, number> {
    return new Map(this.#counts);
  }

  toJson(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** `duplicates`: deliveries beyond the first per individual. */
  summary(): { uniqueDelivered: number; totalDelivered: number; duplicates: number } {
    const unique = this.#counts.size;
    return {
      uniqueDelivered: unique,
      totalDelivered: this.#total,
      duplicates: this.#total - unique,
    };
  }
}
