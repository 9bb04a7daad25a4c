import type { FlowDescribe } from '@flow-dispatcher/salesforce';
import { type Config, requireSalesforceAuth } from '@flow-dispatcher/shared/config';

/** Client error codes meaning the configured credentials are wrong: a configuration problem. */
const CREDENTIAL_CODES = new Set([
  'token-rejected',
  'static-token-expired',
  'private-key-unreadable',
  'private-key-invalid',
  'auth-misconfigured',
]);

/**
 * The flow's describe, asked of Salesforce now with the configured credentials (the SF_*
 * variables the worker uses), over one connection closed afterwards. Throws a ConfigError when
 * no credentials are configured, else what the client throws (`SalesforceRequestError`, with a
 * `code` that `isFlowMissing` and `isCredentialRefusal` read). The Salesforce client is loaded
 * only here, so that commands stay quick to refuse bad arguments.
 */
export async function describeFlowNow(config: Config, flow: string): Promise<FlowDescribe> {
  requireSalesforceAuth(config);
  const { SalesforceClient, tokenSourceFromConfig } = await import('@flow-dispatcher/salesforce');
  const client = new SalesforceClient({
    tokens: tokenSourceFromConfig(config),
    apiVersion: config.salesforce.apiVersion,
    requestTimeoutMs: config.salesforce.requestTimeoutMs,
    connectTimeoutMs: config.salesforce.connectTimeoutMs,
    maxResponseBytes: config.salesforce.maxResponseBytes,
    connections: 1,
    describeTtlMs: 0,
  });
  try {
    return await client.describeFlow(flow);
  } finally {
    await client.close();
  }
}

/** Salesforce answered that the flow does not exist, is inactive or is not shared (404). */
export function isFlowMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'flow-missing';
}

/** Salesforce refused the configured credentials (or they cannot be used as configured). */
export function isCredentialRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CREDENTIAL_CODES.has(code);
}
