/**
 * Which admin-UI requests may change anything (pure).
 *
 * Read-only (the default) allows reads only. With ADMIN_UI_WRITE=on, only actions that can lose
 * no trigger and keep the backlog count right are allowed: pausing and resuming queues, retrying
 * failed chunks (a worker never sends a settled trigger again) and promoting delayed ones.
 * Adding, editing, cleaning, emptying or obliterating jobs would bypass the producer (no pending
 * count, no idempotency) or silently drop triggers; those stay refused, whatever the setting.
 */

export type WriteVerdict = 'allowed' | 'read-only' | 'forbidden';

/** Route patterns (relative to the UI's base path) of the actions write mode allows. */
const SAFE_ACTIONS = new Set([
  'PUT /api/queues/pause',
  'PUT /api/queues/resume',
  'PUT /api/queues/:queueName/pause',
  'PUT /api/queues/:queueName/resume',
  'PUT /api/queues/:queueName/promote',
  'PUT /api/queues/:queueName/retry/:queueStatus',
  'PUT /api/queues/:queueName/:jobId/retry',
  'PUT /api/queues/:queueName/:jobId/promote',
]);

export function writeVerdict(
  method: string,
  route: string,
  params: Record<string, string | undefined>,
  readOnly: boolean,
): WriteVerdict {
  if (method === 'GET' || method === 'HEAD') return 'allowed';
  if (readOnly) return 'read-only';
  if (!SAFE_ACTIONS.has(`${method} ${route}`)) return 'forbidden';
  // "Retry all" of completed jobs would run finished chunks again for nothing.
  if (route.endsWith('/retry/:queueStatus') && params.queueStatus !== 'failed') return 'forbidden';
  return 'allowed';
}
