import {
  type Config,
  createRedis,
  createTokenSource,
  type Logger,
  loadPrivateKey,
  type Metrics,
  RedisKeys,
  requireSalesforceAuth,
  SalesforceClient,
  type TokenSource,
} from '@flow-dispatcher/shared';
import { Dispatcher } from './dispatcher.js';
import { FleetStats } from './fleet-stats.js';

export interface WorkerRuntime {
  dispatcher: Dispatcher;
  client: SalesforceClient;
  /** Redis answers and the dispatcher runs. */
  ready(): boolean;
  /** Graceful stop (see Dispatcher.stop), then closes connections. */
  close(): Promise<void>;
}

/** The Salesforce token source the configuration asks for. */
export function tokenSourceFromConfig(config: Config): TokenSource {
  const auth = requireSalesforceAuth(config);
  const timeoutMs = config.salesforce.connectTimeoutMs + config.salesforce.requestTimeoutMs;
  if (auth.kind === 'jwt-bearer') {
    const { privateKeyFile, ...rest } = auth;
    return createTokenSource(
      { ...rest, privateKey: loadPrivateKey(privateKeyFile) },
      { timeoutMs },
    );
  }
  return createTokenSource(auth, { timeoutMs });
}

/** Wires a worker process from its configuration and starts it. */
export async function startWorker(
  config: Config,
  deps: { logger: Logger; metrics: Metrics; tokens?: TokenSource },
): Promise<WorkerRuntime> {
  const { logger, metrics } = deps;
  const tokens = deps.tokens ?? tokenSourceFromConfig(config);
  const redis = createRedis(config.redis.url, { connectionName: 'fd-worker' });
  redis.on('error', (err) =>
    logger.warn({ err: { message: err.message } }, 'redis connection error'),
  );
  const client = new SalesforceClient({
    tokens,
    apiVersion: config.salesforce.apiVersion,
    requestTimeoutMs: config.salesforce.requestTimeoutMs,
    connectTimeoutMs: config.salesforce.connectTimeoutMs,
    maxResponseBytes: config.salesforce.maxResponseBytes,
    connections: config.salesforce.maxConcurrency,
    describeTtlMs: config.salesforce.describeTtlMs,
  });
  const keys = new RedisKeys(config.redis.prefix);
  const stats = new FleetStats(redis, keys, logger);
  const dispatcher = new Dispatcher({
    redis,
    keys,
    observers: [stats.observe],
    invoker: client,
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
    resultTtlMs: config.dispatch.resultTtlMs,
    lockDurationMs: config.dispatch.lockDurationMs,
    stalledIntervalMs: config.dispatch.stalledIntervalMs,
  });
  await dispatcher.start();
  stats.start();
  return {
    dispatcher,
    client,
    ready: () => redis.status === 'ready' && dispatcher.state === 'running',
    close: async () => {
      await dispatcher.stop();
      await stats.stop();
      await client.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
