import { Readable } from 'node:stream';
import {
  type IngestServer,
  type IngestServerOptions,
  startIngestServer,
} from '@flow-dispatcher/ingest';
import { SalesforceClient, tokenSourceFromConfig } from '@flow-dispatcher/salesforce';
import {
  createLogger,
  createMetrics,
  defaults,
  loadConfig,
  RedisKeys,
} from '@flow-dispatcher/shared';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { CliProcess } from './support/cli-process.js';

/** Helpers of the ingest integration tests (test/ingest-*.test.ts). */

export const TOKEN = 'ingest-test-token-0123456789';

/** Ingest's environment on a test prefix: tokens, a free port, and any overrides. */
export function ingestEnv(
  redisUrl: string,
  prefix: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    INGEST_PORT: '0',
    INGEST_TOKENS: TOKEN,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/**
 * An ingest server in this process, configured from `env` like the CLI: with Salesforce
 * credentials in `env`, triggers are checked against describes from that Salesforce.
 */
export async function startIngest(
  env: Record<string, string>,
  options: Pick<IngestServerOptions, 'extend'> = {},
): Promise<IngestServer & { describer: SalesforceClient | undefined }> {
  const config = loadConfig(env);
  const describer = config.salesforce.auth
    ? new SalesforceClient({
        tokens: tokenSourceFromConfig(config),
        apiVersion: config.salesforce.apiVersion,
        describeTtlMs: config.salesforce.describeTtlMs,
        requestTimeoutMs: 5_000,
        connectTimeoutMs: 2_000,
        maxResponseBytes: config.salesforce.maxResponseBytes,
        connections: defaults.ingestDescribeFetches,
      })
    : undefined;
  const server = await startIngestServer({
    config,
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    metrics: createMetrics({ defaultMetrics: false, role: 'ingest' }),
    describer,
    host: '127.0.0.1',
    // Everything on one port, whatever METRICS_PORT `env` sets (fleetEnv sets one for workers):
    // these tests read /metrics through the API's client. The split: ingest-metrics-port.test.ts.
    metricsPort: undefined,
    ...options,
  });
  const closeServer = server.close.bind(server);
  return Object.assign(server, {
    describer,
    close: async () => {
      await closeServer();
      await describer?.close();
    },
  });
}

/** `flow-dispatcher ingest` as a child process, once it says it is ready; its URL. */
export async function startIngestProcess(
  env: Record<string, string>,
): Promise<{ process: CliProcess; url: string; metricsUrl: string }> {
  const child = new CliProcess(['ingest'], env);
  const line = await child.waitForLine(/"msg":"ingest ready"/).catch(async (err) => {
    await child.kill('SIGKILL'); // never leave a process behind a failed start
    throw err;
  });
  const { port, metricsPort } = JSON.parse(line) as { port: number; metricsPort?: number };
  // `/metrics` and `/admin` are on METRICS_PORT when `env` sets it (fleetEnv does), else on the
  // API port.
  return {
    process: child,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort ?? port}`,
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a parsed JSON answer, inspected by the tests
  json: any;
}

/**
 * An HTTP client for ingest on undici. Paths are sent exactly as given (no URL normalisation),
 * so `/v1/flows/../../x` and `%2e%2e` reach the server as written.
 */
export class IngestClient {
  readonly pool: Pool;

  constructor(
    readonly url: string,
    /** null: send no Authorization header. */
    private readonly token: string | null = TOKEN,
    connections = 16,
  ) {
    this.pool = new Pool(url, { connections, pipelining: 1 });
  }

  async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: {
      body?: unknown;
      headers?: Record<string, string>;
      /** false: no Authorization header. */
      auth?: boolean;
    } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.auth !== false && this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | Readable | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body =
        typeof options.body === 'string'
          ? options.body
          : isAsyncIterable(options.body)
            ? Readable.from(options.body as AsyncIterable<Buffer>)
            : JSON.stringify(options.body);
    }
    Object.assign(headers, options.headers);
    const response = await this.pool.request({ method, path, headers, body });
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text, json };
  }

  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Answer> {
    return this.request('POST', path, { body, ...(headers ? { headers } : {}) });
  }

  get(path: string): Promise<Answer> {
    return this.request('GET', path);
  }

  /** POST /v1/flows/{flow}/triggers with one trigger per input. */
  trigger(flow: string, ...triggers: { input: Record<string, unknown>; key?: string }[]) {
    return this.post(`/v1/flows/${flow}/triggers`, { triggers });
  }

  /** A metric's value from /metrics (a sample line starting with `name`), or undefined. */
  async metric(name: string): Promise<number | undefined> {
    const answer = await this.request('GET', '/metrics', { auth: false });
    const line = answer.text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function isAsyncIterable(value: unknown): boolean {
  return typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';
}

/** Chunk jobs of a flow still waiting, held, delayed or paused (partition 0's queue). */
export async function queuedJobs(
  redis: Pick<Redis, 'llen' | 'zcard'>,
  keys: RedisKeys,
  flow: string,
): Promise<number> {
  const queue = `${keys.bullPrefix}:${flow}`;
  const counts = await Promise.all([
    redis.llen(`${queue}:wait`),
    redis.llen(`${queue}:active`),
    redis.zcard(`${queue}:delayed`),
    redis.zcard(`${queue}:prioritized`),
    redis.llen(`${queue}:paused`),
  ]);
  return counts.reduce((sum, n) => sum + n, 0);
}

/** What ingest left in Redis under a prefix: the pending counters and the chunk jobs of a flow. */
export async function stored(
  redisUrl: string,
  prefix: string,
  flow: string,
): Promise<{ pending: Record<string, string>; jobs: number }> {
  const redis = new Redis(redisUrl);
  try {
    const keys = new RedisKeys(prefix);
    const pending = await redis.hgetall(keys.pending);
    return { pending, jobs: await queuedJobs(redis, keys, flow) };
  } finally {
    redis.disconnect();
  }
}

/** Single-trigger inputs with distinct 18-character IndividualIds. */
export function individualIds(tag: string, count: number, from = 0): string[] {
  return Array.from(
    { length: count },
    (_, i) => `0PK${tag}${String(from + i).padStart(15 - tag.length, '0')}`,
  );
}
