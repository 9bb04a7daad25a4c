/**
 * The newest records of one kind, in arrival order, numbered from 1.
 *
 * State: a ring of at most `capacity` records, filled at arrival and updated in place by their
 * owner, plus the next sequence number. Transitions: `append` adds a record (overwriting the
 * oldest once full), `clear` empties the ring but keeps numbering, `resize` keeps the newest.
 * Trade-off: records are created at arrival, so a reader polling with `since` never misses one
 * that is completed late, at the price of seeing records that are not complete yet.
 */
export class RingLog<T extends { seq: number }> {
  #ring: T[] = [];
  #capacity: number;
  /** Index in #ring of the oldest record once the ring is full. */
  #head = 0;
  #nextSeq = 1;
  readonly #copy: (record: T) => T;

  /** `copy` makes what `since` hands out, so that readers cannot change the live records. */
  constructor(capacity: number, copy: (record: T) => T) {
    this.#capacity = capacity;
    this.#copy = copy;
  }

  /** Adds the record `make` builds from the next sequence number, and returns it (live). */
  append(make: (seq: number) => T): T {
    const record = make(this.#nextSeq++);
    if (this.#ring.length < this.#capacity) {
      this.#ring.push(record);
    } else {
      this.#ring[this.#head] = record;
      this.#head = (this.#head + 1) % this.#capacity;
    }
    return record;
  }

  /** Copies of the kept records with `seq > since`, oldest first. */
  since(since = 0): T[] {
    const kept = this.#ring.length;
    const oldestSeq = this.#nextSeq - kept;
    const first = Math.max(0, since + 1 - oldestSeq);
    const out: T[] = [];
    for (let i = first; i < kept; i++) {
      const record = this.#ring[(this.#head + i) % kept];
      if (record !== undefined) out.push(this.#copy(record));
    }
    return out;
  }

  clear(): void {
    this.#ring = [];
    this.#head = 0;
  }

  resize(capacity: number): void {
    if (capacity === this.#capacity) return;
    // Keep the live objects, not copies: their owners go on updating them.
    const kept = this.#ring.length;
    const ordered: T[] = [];
    for (let i = 0; i < kept; i++) {
      const record = this.#ring[(this.#head + i) % kept];
      if (record !== undefined) ordered.push(record);
    }
    this.#ring = ordered.slice(Math.max(0, ordered.length - capacity));
    this.#head = 0;
    this.#capacity = capacity;
  }
}
