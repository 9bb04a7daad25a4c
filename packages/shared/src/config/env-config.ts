import type { Config, SalesforceAuthConfig } from './config.js';
import { ConfigError } from './config-error.js';
import { httpsRequired } from './config-parsers.js';
import {
  CONFIG_VARIABLES,
  type ConfigPath,
  type ConfigValues,
  type PlacedPath,
  readConfigValues,
} from './config-variables.js';
import { defaults } from './defaults.js';

export type { Config, SalesforceAuthConfig } from './config.js';

/** The Config paths the rules below fill: every other one comes from a variable of the table. */
type RulePath =
  | 'salesforce.auth'
  | 'salesforce.maxResponseBytes'
  | 'worker.partitions'
  | 'ingest.metricsPort';

// Compile-time check: every value of Config is filled, by the table or by a rule.
const everyPathFilled: [Exclude<ConfigPath, PlacedPath | RulePath>] extends [never] ? true : never =
  true;
void everyPathFilled;

/**
 * Parses every variable of the public contract (docs/design.md, Public contract) plus
 * flow-dispatcher's tuning knobs, in two steps: each variable of CONFIG_VARIABLES alone (its
 * parser, its range, its default), then the rules that involve several. A bad value throws a
 * ConfigError naming the variable, never repeating a secret. The result is frozen.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Config {
  const values = readConfigValues(env);
  const sections: Record<string, Record<string, unknown>> = {};
  for (const [name, variable] of Object.entries(CONFIG_VARIABLES)) {
    if (variable.at === undefined) continue;
    const [section, key] = variable.at.split('.') as [string, string];
    sections[section] ??= {};
    sections[section][key] = values[name as keyof ConfigValues];
  }
  const config = sections as unknown as Config;
  // The rules: what depends on more than one variable.
  requireHttps(values);
  config.salesforce.auth = salesforceAuth(values);
  config.worker = { partitions: workerPartitions(values) };
  // Ingest moves /metrics and /admin off its API port only when told where (a worker always
  // serves METRICS_PORT, its default included).
  config.ingest.metricsPort = env.METRICS_PORT?.trim() ? values.METRICS_PORT : undefined;
  // The backoff's cap is never below its base.
  config.dispatch.retryMaxMs = Math.max(
    values.DISPATCH_RETRY_BASE_MS,
    values.DISPATCH_RETRY_MAX_MS,
  );
  // Not a variable: no Salesforce answer comes near it.
  config.salesforce.maxResponseBytes = defaults.maxResponseBytes;
  return deepFreeze(config);
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The Salesforce URLs are https://, or http:// on a loopback host (tests, the simulator), or on
 * any host with SF_ALLOW_HTTP=on: development only, for the simulator behind Docker or Kubernetes
 * networking. Credentials then travel in clear text.
 */
function requireHttps(values: ConfigValues): void {
  for (const name of ['SF_LOGIN_URL', 'SF_INSTANCE_URL', 'SF_JWT_AUDIENCE'] as const) {
    const value = values[name];
    if (value === undefined || values.SF_ALLOW_HTTP) continue;
    const url = new URL(value);
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) throw httpsRequired(name);
  }
}

/** WORKER_PARTITIONS: unset means every partition; each must be below QUEUE_PARTITIONS. */
function workerPartitions(values: ConfigValues): number[] {
  const partitions = values.QUEUE_PARTITIONS;
  const chosen = values.WORKER_PARTITIONS;
  if (chosen === undefined) return Array.from({ length: partitions }, (_, p) => p);
  const bad = chosen.find((p) => p >= partitions);
  if (bad !== undefined) {
    throw new ConfigError(
      'WORKER_PARTITIONS',
      `expected partition numbers from 0 to ${partitions - 1} (QUEUE_PARTITIONS is ${partitions}), got ${JSON.stringify(String(bad))}`,
    );
  }
  return chosen;
}

function audienceFor(loginUrl: string): string {
  const host = new URL(loginUrl).hostname;
  return /(^test\.|\.sandbox\.|--)/.test(host)
    ? 'https://test.salesforce.com'
    : 'https://login.salesforce.com';
}

/**
 * The way to authenticate, from which variables are set: SF_USERNAME or SF_PRIVATE_KEY_FILE
 * (JWT bearer), else SF_CLIENT_ID or SF_CLIENT_SECRET (client credentials), else SF_INSTANCE_URL
 * or SF_ACCESS_TOKEN (a fixed token); a flow missing one of its variables is refused, naming it.
 */
function salesforceAuth(values: ConfigValues): SalesforceAuthConfig | undefined {
  const {
    SF_LOGIN_URL: loginUrl,
    SF_CLIENT_ID: clientId,
    SF_CLIENT_SECRET: clientSecret,
    SF_USERNAME: username,
    SF_PRIVATE_KEY_FILE: privateKeyFile,
    SF_INSTANCE_URL: instanceUrl,
    SF_ACCESS_TOKEN: accessToken,
  } = values;

  if (username !== undefined || privateKeyFile !== undefined) {
    if (username === undefined)
      throw new ConfigError('SF_USERNAME', 'is required with SF_PRIVATE_KEY_FILE');
    if (privateKeyFile === undefined)
      throw new ConfigError('SF_PRIVATE_KEY_FILE', 'is required with SF_USERNAME');
    if (loginUrl === undefined)
      throw new ConfigError('SF_LOGIN_URL', 'is required for the JWT bearer flow');
    if (clientId === undefined)
      throw new ConfigError('SF_CLIENT_ID', 'is required for the JWT bearer flow');
    const audience = values.SF_JWT_AUDIENCE ?? audienceFor(loginUrl);
    return { kind: 'jwt-bearer', loginUrl, clientId, username, privateKeyFile, audience };
  }
  if (clientId !== undefined || clientSecret !== undefined) {
    if (clientId === undefined)
      throw new ConfigError('SF_CLIENT_ID', 'is required with SF_CLIENT_SECRET');
    if (clientSecret === undefined)
      throw new ConfigError('SF_CLIENT_SECRET', 'is required with SF_CLIENT_ID');
    if (loginUrl === undefined) {
      throw new ConfigError(
        'SF_LOGIN_URL',
        "is required for the client-credentials flow (the org's My Domain URL)",
      );
    }
    return { kind: 'client-credentials', loginUrl, clientId, clientSecret };
  }
  if (instanceUrl !== undefined || accessToken !== undefined) {
    if (instanceUrl === undefined)
      throw new ConfigError('SF_INSTANCE_URL', 'is required with SF_ACCESS_TOKEN');
    if (accessToken === undefined)
      throw new ConfigError('SF_ACCESS_TOKEN', 'is required with SF_INSTANCE_URL');
    return { kind: 'static', instanceUrl, accessToken };
  }
  if (loginUrl !== undefined) {
    throw new ConfigError(
      'SF_CLIENT_ID',
      'is required with SF_LOGIN_URL (with SF_CLIENT_SECRET, or SF_USERNAME and SF_PRIVATE_KEY_FILE)',
    );
  }
  return undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The Salesforce credentials, or a ConfigError saying which variables to set. */
export function requireSalesforceAuth(config: Config): SalesforceAuthConfig {
  const auth = config.salesforce.auth;
  if (auth === undefined) {
    throw new ConfigError(
      'SF_LOGIN_URL',
      'Salesforce credentials are missing: set SF_LOGIN_URL with SF_CLIENT_ID and SF_CLIENT_SECRET ' +
        '(client credentials), or SF_USERNAME and SF_PRIVATE_KEY_FILE (JWT bearer), or ' +
        'SF_INSTANCE_URL and SF_ACCESS_TOKEN (fixed token)',
    );
  }
  return auth;
}
