import type { RedisConnection } from '@flow-dispatcher/shared';
import type { IRedisTransaction, Job } from 'bullmq';
import { type ChainableCommander, Pipeline } from 'ioredis';

/**
 * A MULTI/EXEC transaction on a shared connection, in the form BullMQ's `Job.addJob` accepts: an
 * ioredis pipeline opened with MULTI, plus `runCommand`, through which BullMQ queues its scripts.
 *
 * Why not `redis.multi()` (or BullMQ's wrapper of it): both attach closures that hold the
 * transaction to it as own properties (`exec`, `execBuffer`; `runCommand`, `hset`, `hscan`,
 * `sscan`), and V8 then keeps every such transaction, with its commands, arguments and replies,
 * past two young-generation collections into the old generation, where it stays until the next
 * full collection. Ingest writes a few hundred transactions a second, so its minor GC pauses grew
 * with all of them (docs/benchmarks.md, "Ingest p99"). Here the same behaviour lives on the
 * prototype (and patches/ioredis@5.11.1.patch does the same for ioredis's own `length` getter),
 * so a transaction is garbage as soon as its reply is read.
 */
class Transaction extends Pipeline {
  /** BullMQ's script dispatch: `name` is a command its connection defined (`addStandardJob:…`). */
  runCommand(name: string, args: unknown[]): this {
    const command = (this as unknown as Record<string, unknown>)[name];
    // Refused here, before EXEC: a transaction that silently left out the job would still commit
    // the rest of the chunk's writes.
    if (typeof command !== 'function') {
      throw new Error(`Redis command ${name} is not defined on this connection`);
    }
    command.call(this, args);
    return this;
  }
}

export type RedisTransaction = Transaction & ChainableCommander;

/**
 * Opens a transaction on `redis`. Commands defined on the connection (BullMQ's scripts) are
 * copied into it when it is opened, so open it after the queue that defines them is ready.
 */
export function openTransaction(redis: RedisConnection): RedisTransaction {
  const tx = new Transaction(redis) as RedisTransaction;
  // Pipeline#multi (untyped on pipelines) sends MULTI and marks what follows as in the transaction.
  (tx as unknown as { multi(): unknown }).multi();
  return tx;
}

/**
 * Queues `job` into the transaction. BullMQ types the transaction it takes as its own interface
 * (its wrapper of ioredis); adding a job without a parent, as chunk jobs are (with or without a
 * priority or delay: addStandardJob, addPrioritizedJob, addDelayedJob), it calls `runCommand` on
 * it and nothing else.
 */
export async function addJob(tx: RedisTransaction, job: Job): Promise<void> {
  await job.addJob(tx as unknown as IRedisTransaction);
}

/**
 * Sends the transaction; answers each command's `[error, reply]` as `multi().exec()` does, or null
 * when EXEC was aborted by a WATCHed key. Rejects, nothing applied, with the error of a command
 * Redis refused while queueing (rather than EXEC's bare EXECABORT), or with the connection's.
 */
export async function commitTransaction(
  tx: RedisTransaction,
): Promise<[Error | null, unknown][] | null> {
  // On a pipeline opened with MULTI, the first exec() only queues EXEC; the second sends it all.
  // (This is what ioredis's own multi() does around it.)
  void tx.exec();
  const replies = (await tx.exec()) as [Error | null, unknown][];
  const exec = replies[replies.length - 1];
  if (exec === undefined) throw new Error('Redis transaction sent no EXEC');
  const [execError, results] = exec;
  // EXECABORT names no cause: the command Redis refused while queueing is the one to report.
  if (execError) throw replies.find(([error]) => error && error !== execError)?.[0] ?? execError;
  if (results == null) return null;
  return (results as unknown[]).map((result) =>
    result instanceof Error ? [result, undefined] : [null, result],
  );
}
