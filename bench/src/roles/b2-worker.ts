/**
 * B2, plain BullMQ: a Worker with `concurrency` jobs at once, one job per trigger, one Salesforce
 * call per job. The enqueue time is the job's own timestamp (set when it was added). The harness
 * holds and releases it by pausing the queue, as for ours.
 */
import { createRedis } from '@flow-dispatcher/shared';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { serveRpc } from '../child-rpc.js';
import { DirectSalesforce } from '../direct-salesforce.js';
import { LatencyRecorder } from '../latency-recorder.js';
import { BENCH_FLOW } from '../workload.js';

export interface B2WorkerConfig {
  redisUrl: string;
  loginUrl: string;
  queue: string;
  concurrency: number;
}

const recorder = new LatencyRecorder();
let redis: Redis | undefined;
let worker: Worker | undefined;
let client: DirectSalesforce | undefined;

async function prepare(config: B2WorkerConfig): Promise<void> {
  redis = createRedis(config.redisUrl, { connectionName: 'bench-b2-worker' });
  const sf = await DirectSalesforce.connect({
    loginUrl: config.loginUrl,
    flow: BENCH_FLOW,
    connections: config.concurrency,
  });
  client = sf;
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
    { connection: redis, concurrency: config.concurrency },
  );
  worker.on('error', () => {});
  await worker.waitUntilReady();
}

serveRpc(
  {
    prepare,
    progress: () => ({ answered: recorder.count, failed: recorder.failed }),
    report: () => recorder.report(),
    reset: () => recorder.reset(),
  },
  async () => {
    await worker?.close();
    await client?.close();
    redis?.disconnect();
  },
);
