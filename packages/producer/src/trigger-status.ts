import {
  type ChunkJobState,
  decodeTriggerRecord,
  deriveTriggerState,
  parseTriggerId,
  type RedisKeys,
  type TriggerStatus,
  toTriggerStatus,
} from '@flow-dispatcher/shared';
import type { Redis } from 'ioredis';
import type { FlowQueues } from './flow-queues.js';

/**
 * Reads one trigger's public status: its record in the chunk's outcome hash and the chunk job's
 * BullMQ state, fetched together. Undefined for an id that is not ours or whose retention expired.
 */
export async function readTriggerStatus(
  redis: Redis,
  queues: FlowQueues,
  keys: RedisKeys,
  id: string,
): Promise<TriggerStatus | undefined> {
  const address = parseTriggerId(id);
  if (!address) return undefined;
  const { flow, chunkId, index } = address;
  const [raw, jobState] = await Promise.all([
    redis.hget(keys.outcomes(chunkId), String(index)),
    queues.get(flow).getJobState(chunkId) as Promise<ChunkJobState>,
  ]);
  const record = decodeTriggerRecord(raw);
  const state = deriveTriggerState(record, jobState);
  if (state === undefined) return undefined;
  if (
    record === undefined &&
    (jobState === 'waiting' ||
      jobState === 'wait' ||
      jobState === 'delayed' ||
      jobState === 'prioritized' ||
      jobState === 'paused' ||
      jobState === 'active')
  ) {
    // The chunk exists; make sure the index is one of its triggers.
    const job = await queues.get(flow).getJob(chunkId);
    const inputs = (job?.data as { inputs?: unknown[] } | undefined)?.inputs;
    if (!Array.isArray(inputs) || index >= inputs.length) return undefined;
  }
  return toTriggerStatus(id, flow, record, state);
}
