import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from '@flow-dispatcher/producer';
import {
  chunkIdTime,
  createLogger,
  createMetrics,
  createRedis,
  type DeadLetter,
  decodeTriggerRecord,
  isCluster,
  loadConfig,
  type Metrics,
  RedisKeys,
} from '@flow-dispatcher/shared';
import { startSimulator } from '@flow-dispatcher/simulator';
import { startWorker } from '@flow-dispatcher/worker';
import { findOrStartRedis } from '../demo/demo-redis.js';
import { fmt, progressLine, summaryTable } from '../demo/demo-report.js';
import { BAD_PREFIX, demoWorkload, LOCKED_PREFIX } from '../demo/demo-workload.js';
import { UsageError } from '../usage-error.js';

function wholeNumber(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(
      `${name} must be a whole number from ${fmt(min)} to ${fmt(max)}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

async function counter(metrics: Metrics, outcome: string): Promise<number> {
  const { values } = await metrics.triggers.get();
  return values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

/**
 * `flow-dispatcher demo`: everything in one process but Redis: the simulator, a worker, and a
 * producer that enqueues a burst over two flows. Live progress, then a summary. Leaves nothing
 * behind (its keys live under a prefix of their own and are deleted).
 */
export async function demoCommand(options: { triggers: string; latencyMs: string }): Promise<void> {
  const total = wholeNumber(options.triggers, '--triggers', 1, 1_000_000);
  const latencyMs = wholeNumber(options.latencyMs, '--latency-ms', 0, 10_000);
  const out = process.stdout;
  const tty = out.isTTY === true;

  const redis = await findOrStartRedis(process.env.REDIS_URL);
  const prefix = `fd-demo-${process.pid}`;
  const sim = await startSimulator({
    port: 0,
    latency: { kind: 'fixed', ms: latencyMs },
    inputFaults: [
      {
        match: { field: 'IndividualId', prefix: BAD_PREFIX },
        error: {
          statusCode: 'UNKNOWN_EXCEPTION',
          message: 'An error occurred when executing a flow interview.',
        },
      },
      {
        match: { field: 'IndividualId', prefix: LOCKED_PREFIX },
        error: {
          statusCode: 'UNABLE_TO_LOCK_ROW',
          message: 'unable to obtain exclusive access to this record',
        },
        times: 1,
      },
    ],
  });
  const passThrough = [
    'SF_MAX_INPUTS_PER_CALL',
    'SF_MAX_CONCURRENCY',
    'DISPATCH_LINGER_MS',
    'PRODUCER_CHUNK_SIZE',
  ];
  const config = loadConfig({
    ...Object.fromEntries(passThrough.map((name) => [name, process.env[name]])),
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    SF_LOGIN_URL: sim.url,
    SF_CLIENT_ID: 'sim-client-id',
    SF_CLIENT_SECRET: 'sim-client-secret',
    DISPATCH_RETRY_BASE_MS: '200',
    DISPATCH_RETRY_MAX_MS: '2000',
    LOG_LEVEL: 'info',
  });
  const logFile = join(mkdtempSync(join(tmpdir(), 'fd-demo-')), 'worker.log');
  const logStream = createWriteStream(logFile);
  const logger = createLogger({
    level: 'info',
    name: 'flow-dispatcher-demo',
    destination: logStream,
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const runtime = await startWorker(config, { logger, metrics });
  const producer = Producer.fromConfig(config);

  out.write(
    `flow-dispatcher demo: ${fmt(total)} triggers, Redis: ${redis.origin}, simulated Salesforce at ${sim.url} (${latencyMs} ms per call)\n`,
  );
  const started = Date.now();
  let enqueued = 0;
  let lastSettled = 0;
  let lastAt = started;
  let perSecond = 0;
  let lastPrinted = 0;
  const settledNow = async () =>
    (await counter(metrics, 'succeeded')) + (await counter(metrics, 'dead'));
  const render = async (final = false) => {
    const settled = await settledNow();
    const now = Date.now();
    if (now - lastAt >= 500 || final) {
      perSecond = ((settled - lastSettled) * 1000) / Math.max(1, now - lastAt);
      lastSettled = settled;
      lastAt = now;
    }
    const stats = sim.stats();
    const line = progressLine({
      enqueued,
      total,
      settled,
      calls: stats.invokeCalls.total,
      inputsSent: stats.inputs.received,
      perSecond,
    });
    if (tty) out.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else if (final || now - lastPrinted >= 2_000) {
      out.write(`${line}\n`);
      lastPrinted = now;
    }
    return settled;
  };
  const ticker = setInterval(() => void render(), 200);

  try {
    // Backends enqueue in bursts; interleave the two flows in slices of 2,500.
    const workload = demoWorkload(total);
    const slice = 2_500;
    const longest = Math.max(...workload.map((w) => w.inputs.length));
    for (let offset = 0; offset < longest; offset += slice) {
      await Promise.all(
        workload.map(async ({ flow, inputs }) => {
          const part = inputs.slice(offset, offset + slice);
          if (part.length === 0) return;
          const receipts = await producer.triggerMany(flow, part);
          enqueued += receipts.length;
        }),
      );
    }
    const deadline = Date.now() + 10 * 60_000;
    while ((await settledNow()) < total) {
      if (Date.now() > deadline)
        throw new Error(
          'the demo did not settle every trigger within 10 minutes; see the worker log',
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const elapsedMs = Date.now() - started;
    clearInterval(ticker);
    await render(true);
    const keys = new RedisKeys(prefix);
    const stats = sim.stats();
    out.write(
      summaryTable({
        total,
        flows: workload.length,
        elapsedMs,
        succeeded: await counter(metrics, 'succeeded'),
        retried: await counter(metrics, 'retried'),
        dead: await counter(metrics, 'dead'),
        deadReasons: await deadReasons(producer, keys),
        calls: stats.invokeCalls.total,
        inputsSent: stats.inputs.received,
        latenciesMs: await latencies(config.redis.url, keys),
        logFile,
      }),
    );
  } finally {
    clearInterval(ticker);
    await runtime.close();
    await deleteKeys(producer, prefix);
    await producer.close();
    await sim.close();
    await redis.release();
    logStream.end();
  }
}

async function deadReasons(producer: Producer, keys: RedisKeys) {
  const raw = await producer.redis.hvals(keys.deadLetterItems);
  const counts = new Map<string, { code: string; message: string; count: number }>();
  for (const value of raw) {
    const letter = JSON.parse(value) as DeadLetter;
    const id = `${letter.error.code}\n${letter.error.message}`;
    const entry = counts.get(id) ?? {
      code: letter.error.code,
      message: letter.error.message,
      count: 0,
    };
    entry.count++;
    counts.set(id, entry);
  }
  return [...counts.values()];
}

/** Enqueue → answer of every settled trigger, from its record and its chunk's time. */
async function latencies(url: string, keys: RedisKeys): Promise<number[]> {
  const redis = createRedis(url);
  const result: number[] = [];
  try {
    const stream = redis.scanStream({ match: `${keys.root}:out:*`, count: 500 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      for (const key of batch) {
        const enqueuedAt = chunkIdTime(key.slice(key.lastIndexOf(':') + 1));
        if (enqueuedAt === undefined) continue;
        for (const raw of await redis.hvals(key)) {
          const record = decodeTriggerRecord(raw);
          if (record?.s === 'ok' || record?.s === 'dead') result.push(record.t - enqueuedAt);
        }
      }
    }
  } finally {
    redis.disconnect();
  }
  return result;
}

async function deleteKeys(producer: Producer, prefix: string): Promise<void> {
  const redis = producer.redis;
  // The demo runs on one server (findOrStartRedis refuses a cluster URL): SCAN sees every key.
  if (isCluster(redis)) throw new Error('the demo needs one Redis server, not a cluster');
  const stream = redis.scanStream({ match: `{${prefix}}*`, count: 1_000 });
  for await (const batch of stream as AsyncIterable<string[]>) {
    if (batch.length > 0) await redis.unlink(...batch);
  }
}
