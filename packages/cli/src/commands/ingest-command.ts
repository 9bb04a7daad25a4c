import { startIngestServer } from '@flow-dispatcher/ingest';
import {
  adminUiOptionsFromConfig,
  checkAdminUiConfig,
  registerAdminUi,
} from '@flow-dispatcher/ingest/admin-ui';
import { SalesforceClient, tokenSourceFromConfig } from '@flow-dispatcher/salesforce';
import { type Config, createLogger, createMetrics, defaults } from '@flow-dispatcher/shared';
import { onShutdownSignal } from '../process-lifecycle.js';

/**
 * `flow-dispatcher ingest`: the HTTP ingest API (docs/design.md, Public contract) on INGEST_PORT
 * until SIGTERM. Without INGEST_TOKENS (and INGEST_AUTH≠none), or with ADMIN_UI=on and no
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
  const metrics = createMetrics();
  const describer = config.salesforce.auth
    ? new SalesforceClient({
        tokens: tokenSourceFromConfig(config),
        apiVersion: config.salesforce.apiVersion,
        requestTimeoutMs: config.salesforce.requestTimeoutMs,
        connectTimeoutMs: config.salesforce.connectTimeoutMs,
        maxResponseBytes: config.salesforce.maxResponseBytes,
        // One connection per describe ingest fetches at once: it sends nothing else.
        connections: defaults.ingestDescribeFetches,
        describeTtlMs: config.salesforce.describeTtlMs,
      })
    : undefined;
  const server = await startIngestServer({
    config,
    logger,
    metrics,
    describer,
    // ADMIN_UI=on: bull-board at /admin (see packages/ingest/src/admin-ui).
    extend: config.admin.enabled
      ? (app, { redis }) => registerAdminUi(app, adminUiOptionsFromConfig(config, redis))
      : undefined,
  });
  const log = logger.child({ component: 'ingest' });
  log.info(
    {
      port: server.port,
      auth: config.ingest.authDisabled ? 'none' : 'bearer',
      groupCommit: config.ingest.groupCommit,
      describe: describer ? 'salesforce' : 'off',
    },
    'ingest ready',
  );
  onShutdownSignal(
    async () => {
      await server.close();
      await describer?.close();
      log.info('ingest stopped');
    },
    (message) => log.info(message),
  );
}
