// A backend reading outcome events with a consumer group, as a process of its own (the
// outcome-events test SIGKILLs it). For each event it prints one JSON line AFTER handling it (the
// handling is the print); the event is acknowledged when the loop asks for the next one.
// With HOLD_AFTER=n it stops after handling the n-th event, without asking for the next (so that
// event stays unacknowledged), prints {"held":n} and waits to be killed.
import { Producer } from '@flow-dispatcher/producer';

const env = process.env;
const producer = new Producer({ redis: env.REDIS_URL, prefix: env.QUEUE_PREFIX });
const holdAfter = Number(env.HOLD_AFTER ?? 0);
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());

let handled = 0;
const write = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
write({ started: env.CONSUMER });
for await (const event of producer.outcomes({
  group: env.GROUP,
  consumer: env.CONSUMER,
  from: 'start',
  minIdleMs: Number(env.MIN_IDLE_MS ?? 60_000),
  blockMs: 1_000,
  signal: controller.signal,
})) {
  // On Linux a pipe's writes are synchronous: the line is out before the next event is asked for.
  write({
    e: event.eventId,
    p: event.partition,
    id: event.id,
    key: event.key,
    flow: event.flow,
    outcome: event.outcome,
    code: event.code,
    attempts: event.attempts,
    output: event.output,
  });
  handled++;
  if (handled === holdAfter) {
    write({ held: handled });
    await new Promise(() => {}); // never asks for the next event: this one stays unacknowledged
  }
}
await producer.close();
