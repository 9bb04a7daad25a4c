import {
  type CommitObserver,
  GroupCommit,
  Producer,
  type TriggerCommitter,
  type WriteChunk,
} from '@flow-dispatcher/producer';
import {
  type Config,
  type ConfigError,
  createMetrics,
  defaultInputLimits,
  defaults,
  isConfigError,
  type Logger,
  type Metrics,
  type RedisConnection,
} from '@flow-dispatcher/shared';
import type { FastifyInstance } from 'fastify';
import { admittedCommit } from './admitted-commit.js';
import { BacklogMonitor } from './backlog-monitor.js';
import { BearerTokens, requireIngestAuth } from './bearer-auth.js';
import { DescribeCache, type FlowDescriber } from './describe-cache.js';
import { notReadyReason } from './health-routes.js';
import { buildIngestApp, errorSummary } from './ingest-app.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError } from './ingest-error.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { connectIngestRedis, firstConnection } from './ingest-redis.js';
import { PerTriggerCommit } from './per-trigger-commit.js';
import { withDeadline } from './with-deadline.js';

export interface IngestServerOptions {
  /** REDIS_URL, QUEUE_PREFIX, the ingest section, idempotency window, result TTL, describe TTL. */
  config: Config;
  /** Ingest logs through a child `{component: 'ingest'}` of it. */
  logger: Logger;
  /** The registry `/metrics` serves. @defaultValue a new one (createMetrics, role `ingest`) */
  metrics?: Metrics;
  /** Where flow describes come from; without one, triggers are accepted unchecked (counted). */
  describer?: FlowDescriber;
  /** @defaultValue '0.0.0.0' */
  host?: string;
  /** @defaultValue config.ingest.port (0 = a free port) */
  port?: number;
  /**
   * The port of `/metrics` and of what `extend` mounts (with `/healthz`, `/readyz`), off the API
   * port; undefined: everything on `port`. @defaultValue config.ingest.metricsPort (METRICS_PORT
   * when set; 0 = a free port)
   */
  metricsPort?: number;
  /** How often the backlog is read. @defaultValue defaults.ingestBacklogPollMs */
  backlogPollMs?: number;
  /**
   * Mounts more routes on the ingest server (on its metrics port when it has one) before it
   * listens (the admin UI), with ingest's Redis connection (fails fast while Redis is away; not
   * to be closed). Mount them inside `app.register(...)`: they share ingest's error handler, 404
   * and request metrics, while their authentication and any content type other than JSON (a
   * parser registered inside the plugin) stay theirs.
   */
  extend?: (
    app: FastifyInstance,
    ingest: { redis: RedisConnection; producer: Producer },
  ) => unknown; // a promise is awaited
}

export interface IngestServer {
  /** `http://127.0.0.1:<port>` (or the host it listens on). */
  readonly url: string;
  readonly port: number;
  /** Where `/metrics` and the admin UI are when they have a port of their own (METRICS_PORT). */
  readonly metricsUrl: string | undefined;
  readonly metricsPort: number | undefined;
  readonly producer: Producer;
  readonly metrics: Metrics;
  /**
   * Graceful stop: /readyz turns 503 and new requests get 503, requests in flight finish (their
   * chunk writes included), then Redis is closed. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Starts `flow-dispatcher ingest`, the HTTP API of docs/design.md#http-api: the resources it runs
 * on (a Redis connection that fails fast, the producer, the backlog monitor, the describe cache,
 * the group commit), the app (ingest-app.ts), and their lifecycle: the partition-layout check,
 * listening, and a graceful close. Throws a ConfigError naming INGEST_TOKENS when there are no
 * tokens and INGEST_AUTH is not `none`, and one naming QUEUE_PARTITIONS when the fleet runs with
 * another number of partitions (see requirePartitionLayout). When Redis cannot be reached at
 * start-up, that check runs once it can: a mismatch found then refuses every write (503
 * MISCONFIGURED) and keeps /readyz failing.
 */
export async function startIngestServer(options: IngestServerOptions): Promise<IngestServer> {
  const { config } = options;
  requireIngestAuth(config);
  const logger = options.logger.child({ component: 'ingest' });
  const metrics = options.metrics ?? createMetrics({ role: 'ingest' });
  const ingestMetrics = createIngestMetrics(metrics);
  const settings = config.ingest;
  const retryAfterSeconds = defaults.ingestRetryAfterSeconds;
  let closing = false;

  const redis = connectIngestRedis(
    config.redis.url,
    settings.writeTimeoutMs,
    logger,
    () => closing,
  );
  const producer = new Producer({
    redis,
    prefix: config.redis.prefix,
    partitions: config.redis.partitions,
    idempotencyWindowMs: config.producer.idempotencyWindowMs,
    resultTtlMs: config.dispatch.resultTtlMs,
    inputLimits: defaultInputLimits,
    // Counted in Redis by the write (exported by the workers as triggers_enqueued_total).
    source: 'ingest',
  });
  const backlog = new BacklogMonitor(redis, producer.keys, {
    pollMs: options.backlogPollMs ?? defaults.ingestBacklogPollMs,
    logger,
    onSample: (n) => ingestMetrics.backlog.set(n),
  });
  /** Set once the partition check finds this ingest's QUEUE_PARTITIONS is not the fleet's. */
  let misconfigured: ConfigError | undefined;
  const refuseLayout = (err: unknown) => {
    if (!isConfigError(err) || misconfigured) return;
    misconfigured = err;
    logger.error(
      { variable: err.variable },
      `${err.message}; refusing every write until restarted with the fleet's count`,
    );
  };
  const committer = createCommitter(producer, config, retryAfterSeconds, {
    onChunk: (_flow, triggers) => ingestMetrics.chunkTriggers.observe(triggers),
    onError: (flow, triggers, requests, err) => {
      ingestMetrics.chunkWriteFailures.inc();
      logger.warn({ flow, triggers, requests, err: errorSummary(err) }, 'chunk write failed');
    },
  });

  const ctx: IngestContext = {
    limits: { maxTriggers: settings.maxTriggersPerRequest, inputLimits: defaultInputLimits },
    describes: new DescribeCache(options.describer, {
      ttlMs: config.salesforce.describeTtlMs,
      missingTtlMs: defaults.ingestMissingFlowTtlMs,
      holdMs: Math.min(config.salesforce.requestTimeoutMs, defaults.ingestDescribeHoldMs),
      retryMs: defaults.ingestDescribeRetryMs,
      maxFlows: defaults.ingestDescribeMaxFlows,
      maxFetches: defaults.ingestDescribeFetches,
      fetchTimeoutMs: defaults.ingestDescribeFetchTimeoutMs,
      logger,
    }),
    producer,
    metrics,
    ingestMetrics,
    tokens: settings.authDisabled ? undefined : new BearerTokens(settings.tokens),
    commit: admittedCommit(committer, {
      closing: () => closing,
      redisReady: () => redis.status === 'ready',
      backlog: () => backlog.backlog,
      maxBacklog: settings.maxBacklog,
      retryAfterSeconds,
      misconfigured: () => misconfigured !== undefined,
      refuseLayout,
    }),
    redisAnswers: async () => {
      if (redis.status !== 'ready') return false;
      try {
        await withDeadline(redis.ping(), 1_000, () => new Error('PING timed out'));
        return true;
      } catch {
        return false;
      }
    },
    redisReady: () => redis.status === 'ready',
    closing: () => closing,
    misconfigured: () => misconfigured !== undefined,
  };
  // `flow_dispatcher_ready{role="ingest"}` answers what /readyz does, at each scrape.
  metrics.trackReadiness('ingest', async () => (await notReadyReason(ctx)) === undefined);
  const port = options.port ?? settings.port;
  const metricsPort = 'metricsPort' in options ? options.metricsPort : settings.metricsPort;
  // One port when both name the same one (0 is two free ports).
  const split = metricsPort !== undefined && !(metricsPort === port && port !== 0);
  const build = (serves: 'all' | 'api' | 'admin') =>
    buildIngestApp({
      ctx,
      maxBodyBytes: settings.maxBodyBytes,
      retryAfterSeconds,
      logger,
      serves,
    });
  const app = build(split ? 'api' : 'all');
  const adminApp = split ? build('admin') : undefined;

  if (await firstConnection(redis, settings.writeTimeoutMs)) {
    try {
      await producer.checkPartitionLayout();
    } catch (err) {
      if (isConfigError(err)) {
        await producer.close();
        redis.disconnect();
        throw err;
      }
      // Redis went away meanwhile: the first write checks again.
    }
  } else {
    logger.warn('redis is not reachable yet: answering 503 until it is');
    redis.once('ready', () => void producer.checkPartitionLayout().catch(refuseLayout));
  }
  backlog.start();
  const host = options.host ?? '0.0.0.0';
  try {
    await options.extend?.(adminApp ?? app, { redis, producer });
    await app.listen({ port, host });
    await adminApp?.listen({ port: metricsPort, host });
  } catch (err) {
    await Promise.all([app.close(), adminApp?.close()]);
    await backlog.stop();
    await producer.close();
    redis.disconnect();
    throw err;
  }
  const boundPort = (server: FastifyInstance) => {
    const address = server.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const urlOf = (p: number) => `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${p}`;
  const apiPort = boundPort(app);
  const adminPort = adminApp && boundPort(adminApp);
  logger.debug({ port: apiPort, metricsPort: adminPort }, 'ingest listening');

  let closed: Promise<void> | undefined;
  return {
    url: urlOf(apiPort),
    port: apiPort,
    metricsUrl: adminPort === undefined ? undefined : urlOf(adminPort),
    metricsPort: adminPort,
    producer,
    metrics,
    close() {
      closed ??= (async () => {
        closing = true;
        // Write what is gathered now rather than after its linger; requests still being read
        // are refused (503) by admission from here on.
        await Promise.all([app.close(), adminApp?.close(), committer.close()]);
        await backlog.stop();
        await producer.close();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closed;
    },
  };
}

/**
 * How requests' triggers reach Redis: group commit (concurrent requests of a flow share chunk
 * jobs), or one job per trigger with INGEST_GROUP_COMMIT=off (the benchmark baseline); each write
 * bounded by INGEST_WRITE_TIMEOUT_MS.
 */
function createCommitter(
  producer: Producer,
  config: Config,
  retryAfterSeconds: number,
  observer: CommitObserver,
): TriggerCommitter {
  const settings = config.ingest;
  const write: WriteChunk = (flow, items) =>
    withDeadline(
      producer.writeCheckedChunk(flow, items),
      settings.writeTimeoutMs,
      () =>
        new IngestError(
          503,
          'WRITE_FAILED',
          `Redis did not confirm the write within ${settings.writeTimeoutMs} ms; retry (use keys to make retries safe)`,
          { retryAfterSeconds },
        ),
    );
  return settings.groupCommit
    ? new GroupCommit(
        write,
        {
          lingerMs: settings.lingerMs,
          maxChunk: settings.maxChunk,
          split: (flow, items) => producer.partitionsOf(flow, items),
        },
        observer,
      )
    : new PerTriggerCommit(write, observer);
}
