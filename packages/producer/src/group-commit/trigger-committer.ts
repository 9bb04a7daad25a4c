import type { ChunkItem, TriggerReceipt } from '../chunk-writer.js';

/** Writes one chunk job (already checked) and answers once it is in Redis. */
export type WriteChunk = (flow: string, items: readonly ChunkItem[]) => Promise<TriggerReceipt[]>;

/**
 * How ingest hands a request's checked triggers to Redis: it resolves with one receipt per
 * trigger, in order, only once they are stored, or rejects with nothing of the request stored.
 */
export interface TriggerCommitter {
  submit(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]>;
  /** Writes whatever is waiting and resolves once every write has ended. */
  close(): Promise<void>;
}

/** What a committer reports of each chunk write, for metrics and logs. */
export interface CommitObserver {
  onChunk?(flow: string, triggers: number, requests: number): void;
  onError?(flow: string, triggers: number, requests: number, err: unknown): void;
}
