import { startIngestServer } from '@flow-dispatcher/ingest';
import {
  adminUiOptionsFromConfig,
  checkAdminUiConfig,
  registerAdminUi,
} from '@flow-dispatcher/ingest/admin-ui';
import {
  fleetLimiterFromConfig,
  fleetTokenSourceFromConfig,
  SalesforceClient,
  underPermit,
} from '@flow-dispatcher/salesforce';
import {
  type Config,
  connectRedis,
  createLogger,
  createMetrics,
  defaults,
  type Logger,
  type Metrics,
  RedisKeys,
  startTracing,
} from '@flow-dispatcher/shared';
import { onShutdownSignal } from '../process-lifecycle.js';

/**
 * `flow-dispatcher ingest`: the HTTP ingest API (docs/design.md, Public contract) on INGEST_PORT
 * until SIGTERM; `/metrics` and the admin UI on METRICS_PORT instead when it is set. Without INGEST_TOKENS (and INGEST_AUTH≠none), or with ADMIN_UI=on and no
 * ADMIN_TOKENS of its own, it refuses to start: exit 2 naming the variable. With Salesforce
 * credentials, triggers are checked against their flow's describe.
 */
export async function ingestCommand(config: Config): Promise<void> {
  if (config.admin.enabled) checkAdminUiConfig(config);
  const logger = createLogger({
    level: config.log.level,
    name: 'flow-dispatcher',
    redactInputs: config.log.redactInputs,
  });
  const metrics = createMetrics({ role: 'ingest' });
  // OpenTelemetry, only with OTEL_EXPORTER_OTLP_ENDPOINT (docs/operations.md, Following one trigger).
  const tracing = await startTracing('flow-dispatcher-ingest');
  const salesforce = config.salesforce.auth
    ? describeThroughTheFleet(config, logger, metrics)
    : undefined;
  const describer = salesforce?.describer;
  const server = await startIngestServer({
    config,
    logger,
    metrics,
    describer,
    // ADMIN_UI=on: bull-board at /admin (see packages/ingest/src/admin-ui), on METRICS_PORT
    // when it is set.
    extend: config.admin.enabled
      ? (app, { redis }) => registerAdminUi(app, adminUiOptionsFromConfig(config, redis))
      : undefined,
  });
  const log = logger.child({ component: 'ingest' });
  log.info(
    {
      port: server.port,
      metricsPort: server.metricsPort,
      auth: config.ingest.authDisabled ? 'none' : 'bearer',
      groupCommit: config.ingest.groupCommit,
      describe: describer ? 'salesforce' : 'off',
    },
    'ingest ready',
  );
  onShutdownSignal(
    async () => {
      await server.close();
      await salesforce?.close();
      await tracing.shutdown();
      log.info('ingest stopped');
    },
    (message) => log.info(message),
  );
}

/**
 * Ingest's describes, as the fleet's workers make their requests: with the fleet's one token
 * (shared in Redis, refreshed once per expiry for every process) and each under a call permit of
 * the fleet (its concurrency cap, daily budget and pauses), on a Redis connection of their own
 * (ingest's own fails fast while Redis is away; these may wait for it). The limiter starts in the
 * background, so ingest listens, and answers 503, while Redis is away at start-up.
 */
function describeThroughTheFleet(config: Config, logger: Logger, metrics: Metrics) {
  const redis = connectRedis(config.redis.url, { connectionName: 'fd-ingest-salesforce' });
  redis.on('error', () => {}); // ingest's own connection reports outages
  const client = new SalesforceClient({
    tokens: fleetTokenSourceFromConfig(
      config,
      redis,
      logger.child({ component: 'token' }),
      metrics,
    ),
    apiVersion: config.salesforce.apiVersion,
    requestTimeoutMs: config.salesforce.requestTimeoutMs,
    connectTimeoutMs: config.salesforce.connectTimeoutMs,
    maxResponseBytes: config.salesforce.maxResponseBytes,
    // One connection per describe ingest fetches at once: it sends nothing else.
    connections: defaults.ingestDescribeFetches,
    describeTtlMs: config.salesforce.describeTtlMs,
  });
  const limiter = fleetLimiterFromConfig(config, {
    redis,
    keys: new RedisKeys(config.redis.prefix, config.redis.partitions),
    logger: logger.child({ component: 'limits' }),
    metrics,
    readLimits: () => client.getLimits(),
  });
  const started = limiter
    .start()
    .catch((err) =>
      logger.warn({ err: { message: (err as Error).message } }, 'fleet limits not started yet'),
    );
  return {
    describer: {
      describeFlow: (flow: string) =>
        underPermit(limiter, config.salesforce.requestTimeoutMs, () => client.describeFlow(flow)),
    },
    close: async () => {
      // A start still waiting for Redis ends with the connection.
      await limiter.close();
      await client.close();
      redis.disconnect();
      await started;
    },
  };
}
