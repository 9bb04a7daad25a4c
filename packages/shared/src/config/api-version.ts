/**
 * A Salesforce REST API version as it appears in `/services/data/v{version}/`: `65.0`. Salesforce
 * numbers its versions `NN.0`, one per release, from 20.0 (the oldest REST version) on; a minor
 * other than `.0`, a `v` prefix or a three-digit number past 199 is a typo, not a version.
 * SF_API_VERSION, the Salesforce client and ingest's drop-in route all check with this one rule.
 */
export const API_VERSION_PATTERN = /^([2-9]\d|1\d\d)\.0$/;

/** How a valid version looks, for messages. */
export const API_VERSION_EXAMPLE = '65.0';

export function isApiVersion(value: string): boolean {
  return API_VERSION_PATTERN.test(value);
}
