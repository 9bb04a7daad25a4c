/** A Salesforce flow API name: a letter, then letters, digits and underscores, at most 80 chars. */
export const FLOW_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export function isValidFlowName(flow: unknown): flow is string {
  return typeof flow === 'string' && FLOW_NAME_PATTERN.test(flow);
}
