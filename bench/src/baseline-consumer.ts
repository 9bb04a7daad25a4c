import { createRedis } from '@flow-dispatcher/shared';
import type { Redis } from 'ioredis';
import { DirectSalesforce } from './direct-salesforce.js';
import type { LatencyRecorder } from './latency-recorder.js';
import { BENCH_FLOW } from './workload.js';

/** What every baseline consumer (B0's consumer, B2's worker) is prepared with. */
export interface BaselineConsumerConfig {
  redisUrl: string;
  /** The simulator. */
  loginUrl: string;
  /** Calls in flight (B0) or jobs at once (B2) per process. */
  concurrency: number;
}

/** A baseline consumer's connections: its Redis, and the lean client with a socket per call. */
export async function connectBaseline(
  config: BaselineConsumerConfig,
  connectionName: string,
): Promise<{ redis: Redis; client: DirectSalesforce }> {
  const redis = createRedis(config.redisUrl, { connectionName });
  const client = await DirectSalesforce.connect({
    loginUrl: config.loginUrl,
    flow: BENCH_FLOW,
    connections: config.concurrency,
  });
  return { redis, client };
}

/** The commands every baseline consumer answers from its latency recorder. */
export function recorderCommands(recorder: LatencyRecorder) {
  return {
    progress: () => ({ answered: recorder.count, failed: recorder.failed }),
    report: () => recorder.report(),
    reset: () => recorder.reset(),
  };
}
