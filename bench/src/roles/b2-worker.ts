/**
 * B2, plain BullMQ: a Worker with `concurrency` jobs at once, one job per trigger, one Salesforce
 * call per job. The enqueue time is the job's own timestamp (set when it was added). The harness
 * holds and releases it by pausing the queue, as for ours.
 */
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type BaselineConsumerConfig,
  connectBaseline,
  recorderCommands,
} from '../baseline-consumer.js';
import { serveRpc } from '../child-rpc.js';
import type { DirectSalesforce } from '../direct-salesforce.js';
import { LatencyRecorder } from '../latency-recorder.js';

export interface B2WorkerConfig extends BaselineConsumerConfig {
  /** The BullMQ queue the producer adds one job per trigger to. */
  queue: string;
}

const recorder = new LatencyRecorder();
let redis: Redis | undefined;
let worker: Worker | undefined;
let client: DirectSalesforce | undefined;

async function prepare(config: B2WorkerConfig): Promise<void> {
  const connected = await connectBaseline(config, 'bench-b2-worker');
  redis = connected.redis;
  client = connected.client;
  const sf = connected.client;
  worker = new Worker(
    config.queue,
    async (job: Job) => {
      const result = await sf.invoke([job.data]);
      if (result.succeeded !== 1) {
        recorder.fail(1);
        throw new Error(`Salesforce answered ${result.status}`);
      }
      recorder.record(job.timestamp, Date.now());
    },
    { connection: connected.redis, concurrency: config.concurrency },
  );
  worker.on('error', () => {});
  await worker.waitUntilReady();
}

serveRpc(
  {
    prepare,
    ...recorderCommands(recorder),
  },
  async () => {
    await worker?.close();
    await client?.close();
    redis?.disconnect();
  },
);
