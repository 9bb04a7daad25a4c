import type { FlowInput } from '@flow-dispatcher/shared';
import type { LatencyRecorder } from '../latency-recorder.js';

/**
 * How a producer hands triggers to one system under test. The load generator drives a sink two
 * ways: `bulk` (a burst, as fast as the system takes it) and `one` (a single trigger, at a paced
 * rate). Each sink stamps the enqueue time the way its system can report it back:
 * ours in the chunk id (written by the producer library or by ingest), B0 in the list item, B2 in the BullMQ job's timestamp, B1 in its call.
 */
export interface TriggerSink {
  /** Hands over triggers `from` … `from + count − 1` of the run tagged `tag`. */
  bulk(tag: string, from: number, count: number): Promise<void>;
  /** Hands over one trigger; resolves once the system acknowledged it. */
  one(input: FlowInput): Promise<void>;
  /** Set when the producer itself gets Salesforce's answer (B1). */
  readonly recorder?: LatencyRecorder;
  close(): Promise<void>;
}

/** How the load generator reaches each system (sent over IPC, so plain data). */
export type SinkConfig =
  | {
      kind: 'ours';
      redisUrl: string;
      prefix: string;
      /** Triggers per chunk job (the library's maxChunkSize). */
      chunkSize: number;
      /** Chunk writes in flight at once (`triggerMany`'s `concurrency`). */
      lanes: number;
    }
  | { kind: 'raw-list'; redisUrl: string; key: string; perCommand: number; inFlight: number }
  | { kind: 'bullmq'; redisUrl: string; queue: string; perCall: number; inFlight: number }
  | { kind: 'direct'; loginUrl: string; concurrency: number; connections: number }
  | { kind: 'ingest-http'; url: string; token: string; concurrency: number; connections: number };

/** Runs `count` tasks with at most `lanes` in flight; `task(i)` for i = 0 … count − 1. */
export async function inLanes(
  count: number,
  lanes: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, count)) }, lane));
}
