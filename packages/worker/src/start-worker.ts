import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import {
  type FleetLimiter,
  fleetLimiterFromConfig,
  fleetTokenSourceFromConfig,
  isSalesforceRequestError,
  SalesforceClient,
  type TokenSource,
  underPermit,
} from '@flow-dispatcher/salesforce';
import {
  type Config,
  checkPartitionLayout,
  connectRedis,
  defaults,
  type Logger,
  type Metrics,
  RedisKeys,
} from '@flow-dispatcher/shared';
import { Dispatcher } from './dispatcher.js';
import { FleetStats } from './fleet-stats.js';
import { QueueDepthSampler } from './queue-depth-sampler.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

export interface WorkerRuntime {
  dispatcher: Dispatcher;
  client: SalesforceClient;
  limiter: FleetLimiter;
  /** Redis answers and the dispatcher runs. */
  ready(): boolean;
  /** Graceful stop (see Dispatcher.stop), then closes connections. */
  close(): Promise<void>;
}

/** Wires a worker process from its configuration and starts it. */
export async function startWorker(
  config: Config,
  deps: { logger: Logger; metrics: Metrics; tokens?: TokenSource },
): Promise<WorkerRuntime> {
  const { logger, metrics } = deps;
  const redis = connectRedis(config.redis.url, { connectionName: 'fd-worker' });
  redis.on('error', (err) =>
    logger.warn({ err: { message: err.message } }, 'redis connection error'),
  );
  // The deployment's keys: partition 0's (and the fleet's), which know every partition.
  const keys = new RedisKeys(config.redis.prefix, config.redis.partitions);
  let tokens: TokenSource;
  try {
    // The credentials first: a key file that cannot be read is a configuration error (exit 2)
    // whether Redis answers or not, not something found once it does.
    tokens =
      deps.tokens ??
      fleetTokenSourceFromConfig(config, redis, logger.child({ component: 'token' }), metrics);
    await checkPartitionLayout(redis, keys, logger);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const client = new SalesforceClient({
    tokens,
    apiVersion: config.salesforce.apiVersion,
    requestTimeoutMs: config.salesforce.requestTimeoutMs,
    connectTimeoutMs: config.salesforce.connectTimeoutMs,
    maxResponseBytes: config.salesforce.maxResponseBytes,
    connections: config.salesforce.maxConcurrency,
    describeTtlMs: config.salesforce.describeTtlMs,
    userAgent: `flow-dispatcher/${version} (worker ${hostname()}:${process.pid})`,
  });
  metrics.apiBudgetShare.set(config.salesforce.dailyApiShare);
  const limiter = fleetLimiterFromConfig(config, {
    redis,
    keys,
    logger: logger.child({ component: 'limits' }),
    metrics,
    readLimits: () => client.getLimits(),
  });
  await limiter.start();
  const stats = new FleetStats(redis, keys, logger, defaults.statsFlushMs);
  const dispatcher = new Dispatcher({
    redis,
    keys,
    partitions: config.worker.partitions,
    invoker: client,
    slots: limiter,
    observers: [stats.observe],
    onSignal: (signal, outcome) => void limiter.observe(signal, outcome.limitInfo),
    lingerFactor: () => limiter.lingerFactor(),
    // A probe is a request to Salesforce like any other: it waits for a call permit of the fleet
    // (the concurrency cap, the daily budget, a pause) and holds it while it runs.
    probeFlow: async (flow) => {
      try {
        await underPermit(limiter, config.salesforce.requestTimeoutMs, () =>
          client.describeFlow(flow, { fresh: true }),
        );
        return 'back';
      } catch (err) {
        if (isSalesforceRequestError(err)) return 'still-held';
        throw err;
      }
    },
    circuitProbeMs: config.salesforce.circuitProbeMs,
    circuitProbeMaxMs: Math.max(config.salesforce.circuitProbeMs, defaults.circuitProbeMaxMs),
    breaker: { calls: defaults.breakerCalls, triggers: defaults.breakerTriggers },
    consumerIdleMs: defaults.consumerIdleMs,
    holdProbesPerSecond: defaults.holdProbesPerSecond,
    holdRefreshMs: defaults.holdRefreshMs,
    flowPollMs: defaults.flowPollMs,
    drainDelaySeconds: defaults.drainDelaySeconds,
    batchGrowDelayMs: defaults.batchGrowDelayMs,
    logger: logger.child({ component: 'dispatcher' }),
    metrics,
    policy: {
      maxAttempts: config.dispatch.maxAttempts,
      maxAgeMs: config.dispatch.maxAgeMs,
      retryBaseMs: config.dispatch.retryBaseMs,
      retryMaxMs: config.dispatch.retryMaxMs,
    },
    maxInputsPerCall: config.salesforce.maxInputsPerCall,
    lingerMs: config.dispatch.lingerMs,
    maxConcurrency: config.salesforce.maxConcurrency,
    maxBufferedTriggers: config.dispatch.maxBufferedTriggers,
    maxBufferedBytes: config.dispatch.maxBufferedBytes,
    resultTtlMs: config.dispatch.resultTtlMs,
    outcomeEvents: {
      mode: config.dispatch.outcomeEvents,
      maxLen: config.dispatch.outcomeEventsMaxLen,
      maxAgeMs: config.dispatch.outcomeEventsMaxAgeMs,
    },
    lockDurationMs: config.dispatch.lockDurationMs,
    stalledIntervalMs: config.dispatch.stalledIntervalMs,
  });
  await dispatcher.start();
  stats.start();
  const depth = new QueueDepthSampler({
    redis,
    keys,
    metrics,
    logger: logger.child({ component: 'queue-depth' }),
    intervalMs: defaults.queueDepthSampleMs,
  });
  depth.start();
  const ready = () => redis.status === 'ready' && dispatcher.state === 'running';
  // `flow_dispatcher_ready{role="worker"}` answers what /readyz does, at each scrape.
  metrics.trackReadiness('worker', ready);
  return {
    dispatcher,
    client,
    limiter,
    ready,
    close: async () => {
      await dispatcher.stop();
      await limiter.close();
      await stats.stop();
      await depth.stop();
      await client.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
