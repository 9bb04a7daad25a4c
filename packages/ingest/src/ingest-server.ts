import type {
  ChunkItem,
  CommitObserver,
  TriggerCommitter,
  TriggerReceipt,
  WriteChunk,
} from '@flow-dispatcher/producer';
import { GroupCommit, isProducerClosedError, Producer } from '@flow-dispatcher/producer';
import {
  type Config,
  type ConfigError,
  connectRedis,
  createMetrics,
  defaultInputLimits,
  defaults,
  isConfigError,
  type Logger,
  type Metrics,
  type RedisConnection,
} from '@flow-dispatcher/shared';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onRequestHookHandler,
} from 'fastify';
import { refuseAdmission } from './admission.js';
import { BacklogMonitor } from './backlog-monitor.js';
import { BearerTokens, requireIngestAuth } from './bearer-auth.js';
import { limitBody } from './body-limit.js';
import { DescribeCache, type FlowDescriber } from './describe-cache.js';
import { toSalesforceError } from './drop-in-request.js';
import { registerDropInRoute } from './drop-in-route.js';
import { toIngestError } from './framework-errors.js';
import { registerHealthRoutes } from './health-routes.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError, isIngestError } from './ingest-error.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { parseJsonBody } from './json-body.js';
import { PerTriggerCommit } from './per-trigger-commit.js';
import { registerTriggerRoutes } from './trigger-routes.js';
import { withDeadline } from './with-deadline.js';

export interface IngestServerOptions {
  /** REDIS_URL, QUEUE_PREFIX, the ingest section, idempotency window, result TTL, describe TTL. */
  config: Config;
  /** Ingest logs through a child `{component: 'ingest'}` of it. */
  logger: Logger;
  /** The registry `/metrics` serves. @defaultValue a new one (createMetrics) */
  metrics?: Metrics;
  /** Where flow describes come from; without one, triggers are accepted unchecked (counted). */
  describer?: FlowDescriber;
  /** @defaultValue '0.0.0.0' */
  host?: string;
  /** @defaultValue config.ingest.port (0 = a free port) */
  port?: number;
  /** How often the backlog is read. @defaultValue defaults.ingestBacklogPollMs */
  backlogPollMs?: number;
  /**
   * Mounts more routes on the ingest server before it listens (the admin UI), with ingest's
   * Redis connection (fails fast while Redis is away; not to be closed). Mount them inside
   * `app.register(...)`: they share ingest's error handler, 404 and request metrics, while their
   * authentication and any content type other than JSON (a parser registered inside the plugin)
   * stay theirs.
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
  readonly producer: Producer;
  readonly metrics: Metrics;
  /**
   * Graceful stop: /readyz turns 503 and new requests get 503, requests in flight finish (their
   * chunk writes included), then Redis is closed. Safe to call twice.
   */
  close(): Promise<void>;
}

/** Route patterns → the `route` label of the request metrics (bounded). */
const ROUTE_LABELS: Record<string, string> = {
  '/v1/flows/:flow/triggers': 'triggers',
  '/services/data/v:version/actions/custom/flow/:flow': 'drop_in',
  '/v1/triggers/:id': 'trigger_status',
  '/v1/flows/:flow': 'flow_describe',
  '/healthz': 'health',
  '/readyz': 'health',
  '/metrics': 'metrics',
};

/**
 * Starts `flow-dispatcher ingest`, the HTTP API of docs/design.md (Public contract), on fastify:
 * validated requests are group-committed into chunk jobs (or written one job per trigger with
 * INGEST_GROUP_COMMIT=off), admission refuses work while Redis is away (503) or the backlog is full
 * (429), and every error is `{"error":{"code","message"}}` (Salesforce's shape on the drop-in
 * endpoint). Throws a ConfigError naming INGEST_TOKENS when there are no tokens and INGEST_AUTH is
 * not `none`, and one naming QUEUE_PARTITIONS when the fleet runs with another number of partitions
 * (see requirePartitionLayout). When Redis cannot be reached at start-up, that check runs once it
 * can: a mismatch found then refuses every write (503 MISCONFIGURED) and keeps /readyz failing.
 */
export async function startIngestServer(options: IngestServerOptions): Promise<IngestServer> {
  const { config } = options;
  requireIngestAuth(config);
  const logger = options.logger.child({ component: 'ingest' });
  const metrics = options.metrics ?? createMetrics();
  const ingestMetrics = createIngestMetrics(metrics);
  const settings = config.ingest;
  const retryAfterSeconds = defaults.ingestRetryAfterSeconds;

  // A connection that fails commands at once while Redis is away (no offline queue, no retry of
  // commands cut off by a disconnect), so a request gets its 503 now rather than a 202 later.
  const redis = connectRedis(config.redis.url, {
    connectionName: 'fd-ingest',
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: settings.writeTimeoutMs,
  });
  let closing = false;
  watchRedis(redis, logger, () => closing);

  const producer = new Producer({
    redis,
    prefix: config.redis.prefix,
    partitions: config.redis.partitions,
    idempotencyWindowMs: config.producer.idempotencyWindowMs,
    resultTtlMs: config.dispatch.resultTtlMs,
    inputLimits: defaultInputLimits,
    onStored: (flow, count) => metrics.triggersEnqueued.inc({ flow }, count),
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
  const describes = new DescribeCache(options.describer, {
    ttlMs: config.salesforce.describeTtlMs,
    missingTtlMs: defaults.ingestMissingFlowTtlMs,
    holdMs: Math.min(config.salesforce.requestTimeoutMs, defaults.ingestDescribeHoldMs),
    retryMs: defaults.ingestDescribeRetryMs,
    maxFlows: defaults.ingestDescribeMaxFlows,
    maxFetches: defaults.ingestDescribeFetches,
    fetchTimeoutMs: defaults.ingestDescribeFetchTimeoutMs,
    logger,
  });

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
  const observer: CommitObserver = {
    onChunk: (_flow, triggers) => ingestMetrics.chunkTriggers.observe(triggers),
    onError: (flow, triggers, requests, err) => {
      ingestMetrics.chunkWriteFailures.inc();
      logger.warn({ flow, triggers, requests, err: errorSummary(err) }, 'chunk write failed');
    },
  };
  const committer: TriggerCommitter = settings.groupCommit
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

  const ctx: IngestContext = {
    limits: { maxTriggers: settings.maxTriggersPerRequest, inputLimits: defaultInputLimits },
    describes,
    producer,
    metrics,
    ingestMetrics,
    tokens: settings.authDisabled ? undefined : new BearerTokens(settings.tokens),
    async commit(flow: string, items: readonly ChunkItem[]): Promise<TriggerReceipt[]> {
      if (misconfigured) throw misconfiguredError();
      const refusal = refuseAdmission({
        closing,
        redisReady: redis.status === 'ready',
        backlog: backlog.backlog,
        maxBacklog: settings.maxBacklog,
        retryAfterSeconds,
      });
      if (refusal) throw refusal;
      try {
        return await committer.submit(flow, items);
      } catch (err) {
        if (isIngestError(err)) throw err;
        if (isProducerClosedError(err)) {
          throw new IngestError(503, 'SHUTTING_DOWN', 'ingest is shutting down; retry', {
            retryAfterSeconds,
          });
        }
        if (isConfigError(err)) {
          refuseLayout(err);
          throw misconfiguredError();
        }
        throw new IngestError(
          503,
          redis.status === 'ready' ? 'WRITE_FAILED' : 'REDIS_UNAVAILABLE',
          // A write cut off by a disconnect may or may not have landed: say so. A retry with
          // the same keys can never store a trigger twice.
          redis.status === 'ready'
            ? 'the write failed, so the triggers may not be stored; retry (keys make retries safe)'
            : 'Redis became unreachable during the write, so the triggers may not be stored; retry (keys make retries safe)',
          { cause: err, retryAfterSeconds },
        );
      }
    },
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

  const app = Fastify({
    logger: false,
    // The real limit is enforced by limitBody (which reads an oversized body to its end so the
    // client gets its 413); fastify's own limit only stops bodies too large even to drain.
    bodyLimit: drainLimitBytes(settings.maxBodyBytes),
    // Long enough that a 300-character flow name reaches our check and gets its 400.
    routerOptions: { maxParamLength: 1_000 },
    // Requests arriving while closing get our 503, not fastify's body.
    return503OnClosing: false,
    frameworkErrors: (err, request, reply) => sendError(request, reply, toIngestError(err)),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler((err, request, reply) => {
    const ingestError = toIngestError(err);
    // Only the unexpected is logged here: Redis outages, failed writes and describe failures
    // are logged once where they are noticed, and client errors are the client's to read.
    if (ingestError.code === 'INTERNAL') {
      logger.warn(
        {
          route: routeLabel(request),
          code: ingestError.code,
          err: errorSummary(ingestError.cause ?? err),
        },
        'request failed',
      );
    }
    return sendError(request, reply, ingestError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new IngestError(404, 'NOT_FOUND', `no such endpoint: ${request.method} on this path`),
    ),
  );
  app.addHook('onRequest', async (request, reply) => {
    ingestMetrics.inFlight.inc();
    // 'close' comes once per response, answered or abandoned by the client.
    reply.raw.once('close', () => ingestMetrics.inFlight.dec());
    if (closing && routeLabel(request) !== 'health') {
      reply.header('connection', 'close');
      throw new IngestError(503, 'SHUTTING_DOWN', 'ingest is shutting down; retry', {
        retryAfterSeconds,
      });
    }
  });
  app.addHook('preParsing', async (request, _reply, payload) =>
    request.method === 'GET' || request.method === 'HEAD'
      ? payload
      : limitBody(
          payload,
          Number(request.headers['content-length'] ?? Number.NaN),
          settings.maxBodyBytes,
          drainLimitBytes(settings.maxBodyBytes),
        ),
  );
  // Answers sent while closing end their connection, so the server closes without waiting for
  // keep-alive timeouts. So do answers sent before the body had arrived (a 415 or 401 for a
  // large body): the rest of it would otherwise sit in the socket ahead of the connection's next
  // request, which would wait until the keep-alive timeout cut the connection.
  app.addHook('onSend', async (request, reply, payload) => {
    if (closing || !request.raw.complete) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = routeLabel(request);
    ingestMetrics.requests.inc({ route, status: String(reply.statusCode) });
    ingestMetrics.requestDuration.observe({ route }, reply.elapsedTime / 1_000);
  });

  const authenticate: onRequestHookHandler = async (request) => {
    if (ctx.tokens && !ctx.tokens.accepts(request.headers.authorization)) {
      throw new IngestError(401, 'UNAUTHORIZED', 'a valid bearer token is required');
    }
  };
  registerTriggerRoutes(app, ctx, authenticate);
  registerDropInRoute(app, ctx, authenticate);
  registerHealthRoutes(app, ctx);

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
    await options.extend?.(app, { redis, producer });
    await app.listen({ port: options.port ?? settings.port, host });
  } catch (err) {
    await backlog.stop();
    await producer.close();
    redis.disconnect();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  logger.debug({ port }, 'ingest listening');

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`,
    port,
    producer,
    metrics,
    close() {
      closed ??= (async () => {
        closing = true;
        // Write what is gathered now rather than after its linger; requests still being read
        // are refused (503) by admission from here on.
        await Promise.all([app.close(), committer.close()]);
        await backlog.stop();
        await producer.close();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closed;
    },
  };
}

/** Oversized bodies are read and discarded up to this size, so the client can read the 413. */
function drainLimitBytes(maxBodyBytes: number): number {
  return Math.max(4 * maxBodyBytes, 16 * 1024 * 1024);
}

/** Waits up to `timeoutMs` for the first connection; true once Redis is ready. */
async function firstConnection(redis: RedisConnection, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(redis.status === 'ready'), timeoutMs);
    redis.on('ready', onReady);
  });
}

function routeLabel(request: FastifyRequest): string {
  const url = request.routeOptions.url;
  return (url && ROUTE_LABELS[url]) || 'unmatched';
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: IngestError) {
  if (err.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(err.retryAfterSeconds));
  }
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  if (request.url.startsWith('/services/')) {
    const salesforce = toSalesforceError(err);
    return reply.code(salesforce.status).send(salesforce.body);
  }
  return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
}

function misconfiguredError(): IngestError {
  return new IngestError(
    503,
    'MISCONFIGURED',
    "this ingest's QUEUE_PARTITIONS is not the fleet's, so nothing was stored; it needs its configuration fixed",
  );
}

function errorSummary(err: unknown): { name?: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}

/**
 * One log line when Redis goes away and one when it is back (ioredis reports an error per
 * reconnect attempt).
 */
function watchRedis(redis: RedisConnection, logger: Logger, closing: () => boolean): void {
  let down = false;
  const lost = (err?: Error) => {
    if (down || closing()) return;
    down = true;
    logger.warn(
      err ? { err: { message: err.message } } : {},
      'redis unreachable: answering 503 until it is back',
    );
  };
  redis.on('error', lost);
  redis.on('close', () => lost());
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info('redis reachable again');
  });
}
