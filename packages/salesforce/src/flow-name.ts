import { SalesforceUsageError } from './errors.js';

/** Flow API names: a letter, then letters, digits, underscores; at most 80 characters. */
const FLOW_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export function isValidFlowName(flow: unknown): flow is string {
  return typeof flow === 'string' && FLOW_NAME.test(flow);
}

/**
 * Throws `SalesforceUsageError` (code `invalid-flow-name`) unless `flow` is a valid flow API name.
 * The name goes into the request path, so this is what keeps it from ever changing the path
 * (`../../sobjects/User`, `%2e%2e`, `a/b`, `?x`).
 */
export function assertFlowName(flow: unknown): asserts flow is string {
  if (isValidFlowName(flow)) return;
  const shown =
    typeof flow === 'string'
      ? JSON.stringify(flow.length > 100 ? `${flow.slice(0, 100)}…` : flow)
      : typeof flow;
  throw new SalesforceUsageError(
    'invalid-flow-name',
    `invalid flow API name ${shown}: expected a letter followed by letters, digits or underscores, at most 80 characters`,
  );
}
