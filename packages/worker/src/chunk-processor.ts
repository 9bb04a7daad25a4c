import {
  type ChunkJobData,
  fromRuns,
  type Logger,
  laneIndex,
  priorityOfJob,
  type TriggerRecord,
} from '@flow-dispatcher/shared';
import type { Job } from 'bullmq';
import type { BufferBudget } from './buffer-budget.js';
import type { ChunkLease } from './chunk-lease.js';
import { ChunkRun, type PendingTrigger } from './chunk-run.js';
import type { FlowBatcher } from './flow-batcher.js';
import { jsonSize } from './json-size.js';
import type { OutcomeStore } from './outcome-store.js';

export interface ChunkProcessorDeps {
  store: OutcomeStore;
  budget: BufferBudget;
  logger: Logger;
  batcher: (flow: string) => FlowBatcher;
}

/** The job's return value once every trigger of the chunk is settled. */
export interface ChunkSummary {
  succeeded: number;
  dead: number;
  cancelled: number;
}

function isChunkJobData(data: unknown): data is ChunkJobData {
  const value = data as Partial<ChunkJobData> | null;
  return (
    typeof value === 'object' && value !== null && value.v === 1 && Array.isArray(value.inputs)
  );
}

/**
 * Processes one chunk job, one round at a time:
 *
 *   load the records written so far (a chunk may come back after retries or a crash)
 *   → hand the due triggers to the flow's batcher → wait until each is settled or handed back
 *   → every trigger ok or dead: complete the job
 *     some handed back (shutdown): back to wait, another worker takes it
 *     some retrying: delay the job until the earliest retry is due
 *
 * Triggers with a record other than `retry` are never sent again, whatever happened to their
 * neighbours or to the worker that sent them.
 *
 * A run whose lock is lost (chunk-lease.ts) stops: its buffered triggers are dropped, its calls in
 * flight settle and are recorded (they ran), and the job is left alone, since another worker may
 * own it by then and will skip every trigger recorded.
 */
export class ChunkProcessor {
  constructor(private readonly deps: ChunkProcessorDeps) {}

  /** Processes `job`, a chunk of queue partition `partition`, held under `lease`. */
  async process(
    job: Job,
    token: string,
    lease: ChunkLease,
    closing: boolean,
    partition = 0,
  ): Promise<void> {
    const { store, budget, logger } = this.deps;
    const flow = job.queueName;
    const chunkId = job.id ?? '';
    const data: unknown = job.data;
    if (!isChunkJobData(data)) {
      logger.error({ flow, chunkId }, 'job is not a flow-dispatcher chunk; moving it to failed');
      await job.moveToFailed(new Error('not a flow-dispatcher chunk job (v1)'), token, false);
      return;
    }

    // The chunk's whole size is taken before anything is awaited, so the fetch loop sees it
    // at once (reading a chunk's records first let it fetch more meanwhile); what is not due is
    // given back below.
    const bytes = jsonSize(data.inputs);
    budget.take(data.inputs.length, bytes);
    let records: Map<number, TriggerRecord>;
    try {
      // Taken: a scheduled chunk's triggers leave the `scheduled` count (once per chunk).
      if (data.at) await store.takeSchedule(flow, chunkId, partition);
      // Records exist only for a chunk that was active before (BullMQ counts every start in
      // `attemptsStarted`, and nothing but a worker holding the chunk writes its records): a
      // chunk fetched for the first time skips the read.
      // Held from now on (a cancel refuses), and the records so far: a chunk that was active
      // before has its outcomes, and any chunk may have cancelled triggers.
      records = await store.hold(flow, chunkId, token, partition);
    } catch (err) {
      budget.release(data.inputs.length, bytes);
      throw err;
    }
    const now = Date.now();
    const run = new ChunkRun(flow, chunkId, data.ids, data.keys, partition, lease);
    const due: PendingTrigger[] = [];
    const requestIds = data.req ? fromRuns(data.req, data.inputs.length) : undefined;
    const traceparents = data.tp ? fromRuns(data.tp, data.inputs.length) : undefined;
    const lane = laneIndex(priorityOfJob(job.priority || job.opts.priority));
    data.inputs.forEach((input, index) => {
      const record = records.get(index);
      if (record && record.s !== 'retry') return;
      if (record?.s === 'retry' && record.n > now) return;
      const requestId = requestIds?.[index];
      const traceparent = traceparents?.[index];
      due.push({
        run,
        index,
        input,
        attempts: record?.a ?? 0,
        enqueuedAt: job.timestamp,
        arrivedAt: now,
        ...(requestId ? { requestId } : {}),
        ...(traceparent ? { traceparent } : {}),
        lane,
        ...(data.at?.[index] ? { dueAt: data.at[index] } : {}),
      });
    });

    run.expect(due.length);
    // Keep the due share of the bytes (an estimate: the chunk's, pro rata).
    const dueBytes = Math.round((bytes * due.length) / Math.max(1, data.inputs.length));
    budget.release(data.inputs.length - due.length, bytes - dueBytes);
    lease.onLost((reason) => {
      logger.warn(
        { flow, chunkId, reason },
        "lost the chunk's lock: its unsent triggers are dropped here (another worker takes the chunk); calls in flight settle",
      );
      this.deps.batcher(flow).dropRun(run);
    });
    try {
      if (closing || !lease.canSend()) for (const _ of due) run.handBack();
      else if (due.length > 0) this.deps.batcher(flow).add(due);
      await run.done;
    } finally {
      budget.release(due.length, dueBytes);
    }
    for (const [index, record] of run.records) records.set(index, record);
    // Tried even when the lease is lost: when the lock is in fact still ours, the chunk moves on
    // at once; when it is not, BullMQ refuses the move and the new owner carries on.
    await this.#finish(job, token, data.inputs.length, records, lease, partition);
  }

  async #finish(
    job: Job,
    token: string,
    size: number,
    records: Map<number, TriggerRecord>,
    lease: ChunkLease,
    partition: number,
  ): Promise<void> {
    let unsent = 0;
    let nextAt = Number.POSITIVE_INFINITY;
    const summary: ChunkSummary = { succeeded: 0, dead: 0, cancelled: 0 };
    for (let index = 0; index < size; index++) {
      const record = records.get(index);
      if (!record) unsent++;
      else if (record.s === 'retry') nextAt = Math.min(nextAt, record.n);
      else if (record.s === 'ok') summary.succeeded++;
      else if (record.s === 'cancelled') summary.cancelled++;
      else summary.dead++;
    }
    try {
      if (unsent > 0 || nextAt !== Number.POSITIVE_INFINITY) {
        // Back to the queue: no longer held, so its triggers may be cancelled until taken again.
        await this.deps.store.unhold(job.queueName, job.id ?? '', token, partition);
      }
      if (unsent > 0) await job.moveToWait(token);
      else if (nextAt !== Number.POSITIVE_INFINITY) await job.moveToDelayed(nextAt, token);
      else {
        await job.moveToCompleted(summary, token, false);
        // Only now, with the job gone, may the records start to expire (outcome-store.ts).
        await this.deps.store.retain(job.queueName, job.id ?? '', partition);
      }
    } catch (err) {
      // Most likely the lock was lost (Redis away longer than the lock): another worker owns the
      // chunk now and will skip every trigger already recorded.
      this.deps.logger[lease.lost ? 'info' : 'warn'](
        { flow: job.queueName, chunkId: job.id, err: { message: (err as Error).message } },
        lease.lost
          ? 'chunk left to the worker that holds its lock now'
          : 'could not move chunk job',
      );
    }
  }
}
