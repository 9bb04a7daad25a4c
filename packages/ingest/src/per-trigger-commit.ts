import type {
  ChunkItem,
  CommitObserver,
  TriggerCommitter,
  TriggerReceipt,
  WriteChunk,
} from '@flow-dispatcher/producer';

/**
 * INGEST_GROUP_COMMIT=off: one BullMQ job per trigger, written as each request arrives. This is
 * the baseline group commit is measured against, and an escape hatch; a request's triggers are
 * written concurrently, so if one write fails the others of the request may be stored (the
 * request still gets an error and nothing is reported as accepted).
 */
export class PerTriggerCommit implements TriggerCommitter {
  readonly #writes = new Set<Promise<unknown>>();

  constructor(
    private readonly write: WriteChunk,
    private readonly observer: CommitObserver = {},
  ) {}

  async submit(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> {
    const writes = items.map((item) => {
      const write = this.write(flow, [item]).then(
        (receipts) => {
          this.observer.onChunk?.(flow, 1, 1);
          return receipts;
        },
        (err: unknown) => {
          this.observer.onError?.(flow, 1, 1, err);
          throw err;
        },
      );
      const tracked = write.catch(() => {});
      this.#writes.add(tracked);
      tracked.finally(() => this.#writes.delete(tracked));
      return write;
    });
    return (await Promise.all(writes)).flat();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#writes]);
  }
}
