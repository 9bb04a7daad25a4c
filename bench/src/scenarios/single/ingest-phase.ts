import type { Redis } from 'ioredis';
import { parseRedisCpuMs } from '../../private-redis.js';
import { readCpuMs, readMachineCpuMs } from '../../process-probe.js';
import { parseDurationBuckets, type Sample } from './ingest-figures.js';
import type { LoadResult } from './ingest-requests.js';

/** The ingest process a phase loads, and how to count what it wrote. */
export interface IngestUnderLoad {
  pid: number;
  url: string;
  /** Jobs on the flow's wait list so far. */
  jobs: () => Promise<number>;
  /** Triggers stored so far (the flow's pending counter). */
  stored: () => Promise<number>;
}

/**
 * Runs one load phase against `ingest` and measures it: the jobs and triggers written, ingest's
 * CPU, where the machine's CPU went (ingest, Redis, this process, the rest, steal), and ingest's
 * own request-duration histogram. Every reading is taken right before and right after the load.
 */
export async function sampleIngestPhase(
  ingest: IngestUnderLoad,
  redis: Redis,
  load: () => Promise<LoadResult>,
): Promise<Sample> {
  const jobsBefore = await ingest.jobs();
  const storedBefore = await ingest.stored();
  const bucketsBefore = await durationBuckets(ingest.url);
  const redisBefore = parseRedisCpuMs(await redis.info('cpu'));
  const machineBefore = readMachineCpuMs();
  const generatorBefore = process.cpuUsage();
  const cpuBefore = readCpuMs(ingest.pid);
  const { results, elapsedMs } = await load();
  const cpuAfter = readCpuMs(ingest.pid);
  const generator = process.cpuUsage(generatorBefore);
  const machineAfter = readMachineCpuMs();
  const redisAfter = parseRedisCpuMs(await redis.info('cpu'));
  const bucketsAfter = await durationBuckets(ingest.url);
  const buckets = new Map(
    [...bucketsAfter].map(([le, count]) => [le, count - (bucketsBefore.get(le) ?? 0)]),
  );
  const cpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return {
    results,
    elapsedMs,
    cpuMs,
    machineCpu:
      machineBefore && machineAfter && cpuMs !== null
        ? {
            busy: machineAfter.busy - machineBefore.busy,
            steal: machineAfter.steal - machineBefore.steal,
            ingest: cpuMs,
            redis: redisAfter - redisBefore,
            generator: (generator.user + generator.system) / 1_000,
          }
        : null,
    jobs: (await ingest.jobs()) - jobsBefore,
    stored: (await ingest.stored()) - storedBefore,
    buckets,
  };
}

async function durationBuckets(url: string): Promise<Map<number, number>> {
  const response = await fetch(`${url}/metrics`);
  return parseDurationBuckets(await response.text());
}
