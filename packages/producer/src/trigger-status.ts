import {
  type ChunkJobState,
  chunkIdTime,
  decodeTriggerRecord,
  deriveTriggerState,
  parseTriggerId,
  type RedisConnection,
  type RedisKeys,
  type TriggerAddress,
  type TriggerRecord,
  type TriggerStatus,
  toTriggerStatus,
} from '@flow-dispatcher/shared';
import type { FlowQueues } from './flow-queues.js';

const PENDING_STATES = new Set(['waiting', 'wait', 'delayed', 'prioritized', 'paused', 'active']);

/**
 * Reads one trigger's public status: its record in the chunk's outcome hash and the chunk job's
 * BullMQ state, fetched together. A replayed trigger's record points to its new slot, which is
 * followed (the id stays the one the producer was given). The id names its queue partition, so
 * the read goes to the node that holds it. Undefined for an id that is not ours, of a partition
 * this deployment does not have, or whose retention expired.
 */
export async function readTriggerStatus(
  redis: RedisConnection,
  queues: FlowQueues,
  keys: RedisKeys,
  id: string,
): Promise<TriggerStatus | undefined> {
  let address = parseTriggerId(id);
  for (let hop = 0; address && hop < 4; hop++) {
    if (address.partition >= keys.partitionCount) return undefined;
    const { record, jobState } = await readSlot(redis, queues, keys, address);
    if (record?.s === 'moved') {
      address = parseTriggerId(record.to);
      continue;
    }
    let state = deriveTriggerState(record, jobState);
    if (state === undefined) return undefined;
    if (record === undefined && PENDING_STATES.has(jobState)) {
      // The chunk exists; make sure the index is one of its triggers.
      const job = await queues.get(address.flow, address.partition).getJob(address.chunkId);
      // Gone since its state was read: the chunk finished (and was removed) in between, so the
      // trigger's record is written now; read the slot again rather than answer "unknown".
      if (!job) continue;
      const data = job?.data as { inputs?: unknown[]; at?: number[] } | undefined;
      const inputs = data?.inputs;
      if (!Array.isArray(inputs) || address.index >= inputs.length) return undefined;
      // Not due yet (README, "Scheduled triggers"): `scheduled` until its notBefore.
      const due = data?.at?.[address.index] ?? 0;
      if (state === 'queued' && due > Date.now()) state = 'scheduled';
    }
    return toTriggerStatus(id, address.flow, record, state, chunkIdTime(address.chunkId));
  }
  return undefined;
}

async function readSlot(
  redis: RedisConnection,
  queues: FlowQueues,
  keys: RedisKeys,
  { flow, chunkId, index, partition }: TriggerAddress,
): Promise<{ record: TriggerRecord | undefined; jobState: ChunkJobState }> {
  // The job's state first, then the record: a worker writes a trigger's record before it moves
  // the chunk on, so "no record" read after "job pending" means it was still pending then. Read
  // the other way round, a chunk completing in between would look like a trigger that never was.
  const jobState = (await queues.get(flow, partition).getJobState(chunkId)) as ChunkJobState;
  const raw = await redis.hget(keys.forPartition(partition).outcomes(chunkId), String(index));
  return { record: decodeTriggerRecord(raw), jobState };
}
