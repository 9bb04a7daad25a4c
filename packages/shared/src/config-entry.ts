/**
 * `@flow-dispatcher/shared/config`: what a process checks at its edge before it starts anything,
 * the configuration and flow API names. A subpath of its own so that a command line refusing bad
 * usage or configuration does not first load bullmq, ioredis, undici, prom-client and pino (the
 * main entry point's Redis, queue, Salesforce and observability code): most of a second per process.
 */
export { API_VERSION_EXAMPLE, API_VERSION_PATTERN, isApiVersion } from './config/api-version.js';
export type { Config, OutcomeEventsMode, SalesforceAuthConfig } from './config/config.js';
export { ConfigError, isConfigError } from './config/config-error.js';
export {
  CONFIG_VARIABLES,
  type ConfigPath,
  type ConfigVariable,
  type ConfigVariableName,
} from './config/config-variables.js';
export { defaults } from './config/defaults.js';
export { loadConfig, requireSalesforceAuth } from './config/env-config.js';
export { packageVersion } from './package-version.js';
export { FLOW_NAME_PATTERN, isValidFlowName } from './queue/flow-name.js';
// `pace FLOW RATE [--window]` is checked before anything heavy loads.
export {
  checkPerSecond,
  checkWindowMs,
  InvalidPaceError,
  parsePaceRate,
  parsePaceWindow,
} from './queue/flow-pace.js';
// `dlq replay --drop-input/--rename-input` are checked before anything heavy loads.
export { applyInputEdits, checkInputEdits, type InputEdits } from './queue/input-edits.js';
// `stats --window` is checked against the bucket width before anything heavy loads.
export { STATS_BUCKET_SECONDS } from './queue/redis-keys.js';
