import type { FlowControl, Producer } from '@flow-dispatcher/producer';
import { type OperatorContext, openOperatorContext } from './operator-redis.js';

/** What an operator command gets: the fleet's flow control, its Redis, and a producer on demand. */
export interface FlowControlTools {
  control: FlowControl;
  ctx: OperatorContext;
  /** A producer on the same Redis connection (made on first use, closed with the rest). */
  producer(): Producer;
}

/**
 * Runs an operator command with the fleet's flow control (pause, resume, hold status, forget) on
 * one Redis connection, closing everything it opened whatever happens. The producer package is
 * loaded only here, once the command's arguments were accepted.
 */
export async function withFlowControl<T>(run: (tools: FlowControlTools) => Promise<T>): Promise<T> {
  const ctx = await openOperatorContext();
  const producerPackage = await import('@flow-dispatcher/producer');
  const control = new producerPackage.FlowControl(ctx.redis, ctx.keys);
  let producer: Producer | undefined;
  try {
    return await run({
      control,
      ctx,
      producer: () => {
        producer ??= producerPackage.Producer.fromConfig(ctx.config, { redis: ctx.redis });
        return producer;
      },
    });
  } finally {
    await producer?.close();
    await control.close();
    await ctx.close();
  }
}
