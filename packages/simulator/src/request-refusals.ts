import { apiDisabledBody, insufficientAccessBody } from './salesforce-errors.js';
import type { RequestRefusal } from './simulator-config.js';

/** The body every /services/data request gets while the org's API access is off, or null. */
export function orgRefusal(refuse: RequestRefusal | null): string | null {
  return refuse?.kind === 'api-disabled' ? apiDisabledBody : null;
}

/** The body an invoke or a describe of `flow` gets while the user may not run it, or null. */
export function flowRefusal(refuse: RequestRefusal | null, flow: string): string | null {
  if (refuse?.kind !== 'insufficient-access') return null;
  return refuse.flows === undefined || refuse.flows.includes(flow) ? insufficientAccessBody : null;
}
