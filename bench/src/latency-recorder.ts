/** Enqueue → answer times of the triggers one process saw answered, as sent back to the harness. */
export interface LatencyReport {
  /** One value per answered trigger, in ms. */
  latenciesMs: Float64Array;
  /** When each was answered (epoch ms), in the same order. */
  answeredAt: Float64Array;
  /** Earliest enqueue time among them (epoch ms); Infinity when none. */
  firstEnqueueAt: number;
  /** Latest answer time among them (epoch ms); 0 when none. */
  lastAnswerAt: number;
  /** Inputs Salesforce answered as failed (none are expected: the simulator injects no faults). */
  failed: number;
}

/**
 * Collects enqueue → answer times in a growing Float64Array (8 bytes a trigger: a million
 * triggers cost 8 MB, nothing per trigger on the heap).
 */
export class LatencyRecorder {
  #values: Float64Array = new Float64Array(4096);
  #answeredAt: Float64Array = new Float64Array(4096);
  #count = 0;
  #firstEnqueueAt = Number.POSITIVE_INFINITY;
  #lastAnswerAt = 0;
  #failed = 0;

  get count(): number {
    return this.#count;
  }

  record(enqueuedAt: number, answeredAt: number): void {
    if (this.#count === this.#values.length) {
      this.#values = grow(this.#values);
      this.#answeredAt = grow(this.#answeredAt);
    }
    this.#answeredAt[this.#count] = answeredAt;
    this.#values[this.#count++] = answeredAt - enqueuedAt;
    if (enqueuedAt < this.#firstEnqueueAt) this.#firstEnqueueAt = enqueuedAt;
    if (answeredAt > this.#lastAnswerAt) this.#lastAnswerAt = answeredAt;
  }

  /** Forgets everything recorded (after a warm-up). */
  reset(): void {
    this.#count = 0;
    this.#firstEnqueueAt = Number.POSITIVE_INFINITY;
    this.#lastAnswerAt = 0;
    this.#failed = 0;
  }

  fail(count: number): void {
    this.#failed += count;
  }

  get failed(): number {
    return this.#failed;
  }

  report(): LatencyReport {
    return {
      latenciesMs: this.#values.slice(0, this.#count),
      answeredAt: this.#answeredAt.slice(0, this.#count),
      firstEnqueueAt: this.#firstEnqueueAt,
      lastAnswerAt: this.#lastAnswerAt,
      failed: this.#failed,
    };
  }
}

function grow(values: Float64Array): Float64Array {
  const grown = new Float64Array(values.length * 2);
  grown.set(values);
  return grown;
}

/** Merges the reports of several processes into one. */
export function mergeLatencyReports(reports: readonly LatencyReport[]): LatencyReport {
  const total = reports.reduce((n, r) => n + r.latenciesMs.length, 0);
  const latenciesMs = new Float64Array(total);
  const answeredAt = new Float64Array(total);
  let offset = 0;
  for (const r of reports) {
    latenciesMs.set(r.latenciesMs, offset);
    answeredAt.set(r.answeredAt, offset);
    offset += r.latenciesMs.length;
  }
  return {
    latenciesMs,
    answeredAt,
    firstEnqueueAt: Math.min(Number.POSITIVE_INFINITY, ...reports.map((r) => r.firstEnqueueAt)),
    lastAnswerAt: Math.max(0, ...reports.map((r) => r.lastAnswerAt)),
    failed: reports.reduce((n, r) => n + r.failed, 0),
  };
}
