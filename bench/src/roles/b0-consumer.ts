/**
 * B0, the physical limit: a consumer of one raw Redis list feeding full batched calls.
 *
 * One loop: while a call slot is free, RPOP up to `maxInputs − buffered` items (one round trip),
 * send a call once the batch is full or its oldest item has waited `lingerMs`, else block on
 * BRPOP until an item comes or the linger runs out. The body is spliced from the items' JSON
 * without parsing them. No lock, no ack, no record, no retry: a crash loses what it held.
 * The same batching rule as ours (≤ maxInputs per call, ≤ lingerMs wait, ≤ concurrency calls in
 * flight), so the gap between B0 and ours is the price of our guarantees.
 *
 * States: held (popping nothing; the harness releases it) ⇄ running → stopped.
 */
import type { Redis } from 'ioredis';
import {
  type BaselineConsumerConfig,
  connectBaseline,
  recorderCommands,
} from '../baseline-consumer.js';
import { serveRpc } from '../child-rpc.js';
import type { DirectSalesforce } from '../direct-salesforce.js';
import { LatencyRecorder } from '../latency-recorder.js';

export interface B0ConsumerConfig extends BaselineConsumerConfig {
  /** The list the producer LPUSHes onto. */
  key: string;
  maxInputs: number;
  lingerMs: number;
}

const recorder = new LatencyRecorder();
let redis: Redis | undefined;
let client: DirectSalesforce | undefined;
let held = true;
let stopped = false;
let wake: (() => void) | undefined;
let inFlight = 0;
let slotFreed: (() => void) | undefined;

async function prepare(config: B0ConsumerConfig): Promise<void> {
  const connected = await connectBaseline(config, 'bench-b0-consumer');
  redis = connected.redis;
  client = connected.client;
  void loop(config, connected.redis, connected.client);
}

async function loop(config: B0ConsumerConfig, redis: Redis, client: DirectSalesforce) {
  let buffer: string[] = [];
  let oldestAt = 0;
  while (!stopped) {
    if (held) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      continue;
    }
    if (inFlight >= config.concurrency) {
      await new Promise<void>((resolve) => {
        slotFreed = resolve;
      });
      continue;
    }
    const room = config.maxInputs - buffer.length;
    const popped = await redis.rpop(config.key, room);
    if (popped && popped.length > 0) {
      if (buffer.length === 0) oldestAt = Date.now();
      buffer.push(...popped);
    }
    const waited = Date.now() - oldestAt;
    if (buffer.length >= config.maxInputs || (buffer.length > 0 && waited >= config.lingerMs)) {
      send(client, buffer);
      buffer = [];
      continue;
    }
    if (popped && popped.length > 0) continue;
    const timeoutS = buffer.length > 0 ? Math.max(0.001, (config.lingerMs - waited) / 1000) : 0.2;
    const got = await redis.brpop(config.key, timeoutS);
    if (got) {
      if (buffer.length === 0) oldestAt = Date.now();
      buffer.push(got[1]);
    }
  }
}

function send(client: DirectSalesforce, items: string[]): void {
  inFlight++;
  const enqueuedAt = new Float64Array(items.length);
  const inputs = items.map((item, i) => {
    const bar = item.indexOf('|');
    enqueuedAt[i] = Number(item.slice(0, bar));
    return item.slice(bar + 1);
  });
  client
    .invokeBody(`{"inputs":[${inputs.join(',')}]}`)
    .then(
      (result) => {
        const now = Date.now();
        if (result.succeeded === items.length) {
          for (const at of enqueuedAt) recorder.record(at, now);
        } else {
          recorder.fail(items.length);
        }
      },
      () => recorder.fail(items.length),
    )
    .finally(() => {
      inFlight--;
      slotFreed?.();
      slotFreed = undefined;
    });
}

serveRpc(
  {
    prepare,
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      wake?.();
      wake = undefined;
    },
    ...recorderCommands(recorder),
  },
  async () => {
    stopped = true;
    redis?.disconnect();
    await client?.close();
  },
);
