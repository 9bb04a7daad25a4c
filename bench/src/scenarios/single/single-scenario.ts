import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { DOCKERFILE, roleScript } from '../../bench-paths.js';
import { RpcChild } from '../../child-rpc.js';
import type { Log } from '../../measured-run.js';
import { PrivateRedis } from '../../private-redis.js';
import type { IngestModesContext, SingleReport } from './ingest-modes.js';
import type { SingleSettings } from './single-settings.js';

/** What the harness asks the single scenario's load generator to run. */
export interface SingleRun {
  settings: SingleSettings;
  context: Omit<IngestModesContext, 'log'>;
}

/**
 * The single scenario from the harness's side: a Redis (a private redis-server unless one is
 * lent), and the load generator child that measures (ingest-modes.ts). The load generator has a
 * process of its own, like every load generator here: in the harness's process its garbage
 * collections (the harness holds the latencies of every earlier run) would be charged to
 * ingest's request latency.
 */
export async function runSingleScenario(
  settings: SingleSettings,
  ingestEnv: Record<string, string>,
  deps: { dir: string; log: Log },
): Promise<SingleReport> {
  const own = settings.redisUrl === undefined ? await PrivateRedis.start() : undefined;
  try {
    const generator = await RpcChild.start(
      'single-load-generator',
      roleScript('ingest-load-generator'),
      { onLog: (line) => deps.log(`  ${line}`) },
    );
    try {
      const run: SingleRun = {
        settings,
        context: {
          redisUrl: own?.url ?? (settings.redisUrl as string),
          shared: own === undefined,
          env: ingestEnv,
          nodeOptions: imageNodeOptions(),
          dir: deps.dir,
          cpus: cpus().length,
        },
      };
      return await generator.call<SingleReport>('run', run);
    } finally {
      await generator.stop();
    }
  } finally {
    await own?.stop();
  }
}

/**
 * Ingest runs with the image's default NODE_OPTIONS (its young-generation size: on Node 24 the
 * default one makes pauses several times longer, docs/benchmarks.md), as deployed.
 */
function imageNodeOptions(): string {
  const dockerfile = readFileSync(DOCKERFILE, 'utf8');
  return /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1] ?? '';
}
