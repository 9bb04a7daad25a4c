import { createLogger, createMetrics, loadConfig, type Metrics } from '@flow-dispatcher/shared';
import { startWorker, type WorkerRuntime } from '@flow-dispatcher/worker';
import { CliProcess } from './cli-process.js';

export interface FleetEnvOptions {
  redisUrl: string;
  prefix: string;
  simulatorUrl: string;
  /** Extra or overriding variables. */
  extra?: Record<string, string>;
}

/** The environment of a worker (or ingest) pointed at a test Redis prefix and a simulator. */
export function fleetEnv({
  redisUrl,
  prefix,
  simulatorUrl,
  extra,
}: FleetEnvOptions): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    SF_LOGIN_URL: simulatorUrl,
    SF_CLIENT_ID: 'sim-client-id',
    SF_CLIENT_SECRET: 'sim-client-secret',
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    DISPATCH_LINGER_MS: '20',
    DISPATCH_RETRY_BASE_MS: '100',
    DISPATCH_RETRY_MAX_MS: '1000',
    // The simulator answers within a few seconds in every test: a 5 s request deadline keeps the
    // call permits' lease (4/3 of it + 5 s, ~12 s) short, so a killed worker's permits come back
    // in seconds instead of the ~85 s of the 60 s default.
    SF_REQUEST_TIMEOUT_MS: '5000',
    ...extra,
  };
}

/** A worker in this process (real Redis, real HTTP to the simulator), for tests that need no kill. */
export async function startInProcessWorker(
  env: Record<string, string>,
): Promise<WorkerRuntime & { metrics: Metrics }> {
  const config = loadConfig(env);
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const runtime = await startWorker(config, { logger, metrics });
  return Object.assign(runtime, { metrics });
}

/** A `flow-dispatcher worker` process, once it says it is ready. */
export async function startWorkerProcess(env: Record<string, string>): Promise<CliProcess> {
  const worker = new CliProcess(['worker'], env);
  await worker.waitForLine(/"msg":"worker ready"/).catch(async (err) => {
    await worker.kill('SIGKILL'); // never leave a process behind a failed start
    throw err;
  });
  return worker;
}

/** A worker process's `/metrics` (Prometheus text), on the port its ready line names. */
export async function workerMetrics(worker: CliProcess): Promise<string> {
  const line = await worker.waitForLine(/"msg":"worker ready"/);
  const { metricsPort } = JSON.parse(line) as { metricsPort: number };
  return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

/** A worker process's `/readyz` status. */
export async function workerReady(worker: CliProcess): Promise<number> {
  const line = await worker.waitForLine(/"msg":"worker ready"/);
  const { metricsPort } = JSON.parse(line) as { metricsPort: number };
  return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status;
}

/**
 * The value of the first sample of `name` whose labels include `labels`, in Prometheus text;
 * undefined when there is none.
 */
export function metricSample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value))
      return Number(match[3]);
  }
  return undefined;
}
