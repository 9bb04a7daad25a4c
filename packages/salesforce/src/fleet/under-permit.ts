import { SalesforceRequestError } from '../errors.js';
import type { CallSlots } from './call-slots.js';

/**
 * Runs one request to Salesforce under a call permit of the fleet, like a call: it waits for the
 * permit (the concurrency cap, the daily budget, a pause), starts only if the permit is sure to
 * stay counted for the request's whole deadline (`maxDurationMs`), and gives the permit back when
 * it ends. Describes and probes go through here, from the worker and from ingest, so the fleet's
 * limits hold for every request it makes. A permit that no longer covers the deadline (Redis out
 * of reach for most of a lease) throws a `connection-failed` SalesforceRequestError: nothing was
 * sent.
 */
export async function underPermit<T>(
  slots: CallSlots,
  maxDurationMs: number,
  request: () => Promise<T>,
): Promise<T> {
  const permit = await slots.acquire();
  try {
    if (!(await permit.covers(maxDurationMs))) {
      throw new SalesforceRequestError({
        kind: 'connection-failed',
        sent: false,
        message: 'not sent: the call permit could not be renewed in time',
      });
    }
    return await request();
  } finally {
    permit.release();
  }
}
