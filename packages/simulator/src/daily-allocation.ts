/**
 * The org's rolling API allocation ("DailyApiRequests").
 *
 * State: a queue of time buckets, each counting the requests charged during its slice of time,
 * and their running sum `used`. Transitions: `tryCharge` adds one to the newest bucket when `used`
 * is below the limit and refuses otherwise; `refund` takes back the newest charge (a call that an
 * injected fault stopped before the API layer); buckets whose whole slice is older than the window
 * drop off as time passes; `restart` empties the queue and charges a starting usage at once.
 *
 * Beside it, the charges made in the second of the latest charge (what `Sforce-Limit-Info` shows
 * as `api-bursts`): a charge in a new second starts that count over. It is read as it stands, so
 * an answer written just after a second boundary still counts the charge of its own request.
 *
 * Trade-off: a bucket is 1/1000 of the window wide (86.4 s for 24 h), so usage drops off in steps
 * and never earlier than the exact rolling window would free it, while memory stays bounded
 * whatever the call rate.
 */
export class DailyAllocation {
  #limit: number;
  #windowMs: number;
  #bucketMs: number;
  #starts: number[] = [];
  #counts: number[] = [];
  #used = 0;
  #burstSecond = -1;
  #burstCount = 0;

  constructor(limit: number, windowMs: number) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#bucketMs = windowMs / 1000;
  }

  /** New limit or window; usage already charged stays. */
  reconfigure(limit: number, windowMs: number): void {
    this.#limit = limit;
    if (windowMs !== this.#windowMs) {
      this.#windowMs = windowMs;
      this.#bucketMs = windowMs / 1000;
    }
  }

  /** Usage is `startingUsed` from `nowMs` on; earlier charges are forgotten. */
  restart(startingUsed: number, nowMs: number): void {
    this.#starts = [];
    this.#counts = [];
    this.#used = 0;
    this.#burstSecond = -1;
    this.#burstCount = 0;
    if (startingUsed > 0) this.#add(startingUsed, nowMs);
  }

  /** Charges one request, or returns false when the allocation is spent. */
  tryCharge(nowMs: number): boolean {
    this.#expire(nowMs);
    if (this.#used >= this.#limit) return false;
    this.#add(1, nowMs);
    const second = Math.floor(nowMs / 1000);
    if (second !== this.#burstSecond) {
      this.#burstSecond = second;
      this.#burstCount = 0;
    }
    this.#burstCount++;
    return true;
  }

  /** Takes back the newest charge. */
  refund(): void {
    if (this.#burstCount > 0) this.#burstCount--;
    for (let i = this.#counts.length - 1; i >= 0; i--) {
      const c = this.#counts[i] ?? 0;
      if (c > 0) {
        this.#counts[i] = c - 1;
        this.#used--;
        return;
      }
    }
  }

  /** Requests charged in the second of the latest charge (0 before any). */
  burst(): number {
    return this.#burstCount;
  }

  usage(nowMs: number): { used: number; max: number } {
    this.#expire(nowMs);
    return { used: this.#used, max: this.#limit };
  }

  #add(n: number, nowMs: number): void {
    const start = Math.floor(nowMs / this.#bucketMs) * this.#bucketMs;
    const last = this.#starts.length - 1;
    if (last >= 0 && this.#starts[last] === start) {
      this.#counts[last] = (this.#counts[last] ?? 0) + n;
    } else {
      this.#starts.push(start);
      this.#counts.push(n);
    }
    this.#used += n;
  }

  #expire(nowMs: number): void {
    let drop = 0;
    const oldestKept = nowMs - this.#windowMs - this.#bucketMs;
    while (drop < this.#starts.length && (this.#starts[drop] ?? 0) <= oldestKept) {
      this.#used -= this.#counts[drop] ?? 0;
      drop++;
    }
    if (drop > 0) {
      this.#starts.splice(0, drop);
      this.#counts.splice(0, drop);
    }
  }
}
