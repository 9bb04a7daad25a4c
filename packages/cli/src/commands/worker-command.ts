import {
  type Config,
  createLogger,
  createMetrics,
  startHealthServer,
  startTracing,
} from '@flow-dispatcher/shared';
import { startWorker } from '@flow-dispatcher/worker';
import { onShutdownSignal } from '../process-lifecycle.js';

/** `flow-dispatcher worker`: drains the queues into Salesforce until SIGTERM. */
export async function workerCommand(config: Config): Promise<void> {
  const logger = createLogger({
    level: config.log.level,
    name: 'flow-dispatcher',
    redactInputs: config.log.redactInputs,
  }).child({
    component: 'worker',
  });
  const metrics = createMetrics();
  // OpenTelemetry, only with OTEL_EXPORTER_OTLP_ENDPOINT (docs/operations.md, Following one trigger).
  const tracing = await startTracing('flow-dispatcher-worker');
  const runtime = await startWorker(config, { logger, metrics });
  const health = await startHealthServer({
    port: config.metrics.port,
    registry: metrics.registry,
    ready: () => runtime.ready(),
  });
  logger.info({ metricsPort: health.port, flows: runtime.dispatcher.flows }, 'worker ready');
  onShutdownSignal(
    async () => {
      await runtime.close();
      await health.close();
      await tracing.shutdown();
      logger.info('worker stopped');
    },
    (message) => logger.info(message),
  );
}
