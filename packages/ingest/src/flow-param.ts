import { isValidFlowName } from '@flow-dispatcher/shared';
import { IngestError } from './ingest-error.js';

/**
 * The `{flow}` of a path, after URL decoding (pure): a flow API name or a 400. The name is used
 * as a BullMQ queue name and inside Redis keys and Salesforce URLs, so nothing else may pass:
 * `..`, `%2e%2e`, `../../sobjects/User` and 300-character names are all refused here.
 */
export function flowParam(flow: string): string {
  if (!isValidFlowName(flow)) {
    throw new IngestError(
      400,
      'INVALID_FLOW_NAME',
      'the flow must be a flow API name: a letter, then letters, digits or underscores, at most 80 characters',
      { field: 'flow' },
    );
  }
  return flow;
}

/** Salesforce said the flow does not exist (its describe): nothing is stored for it. */
export function flowNotFound(flow: string): IngestError {
  return new IngestError(
    404,
    'FLOW_NOT_FOUND',
    `flow ${flow} does not exist in Salesforce, is not active, or is not shared with the API user`,
    { field: 'flow' },
  );
}
