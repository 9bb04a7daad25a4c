import type { FlowInput } from './chunk-job.js';
import type { TriggerError } from './trigger-record.js';

/**
 * A dead-lettered trigger, as kept in `{prefix}:dlq:items` until it is replayed or purged: enough
 * to send it again exactly as it was (its input and idempotency key) and to say why it died.
 */
export interface DeadLetter {
  id: string;
  flow: string;
  input: FlowInput;
  key: string | null;
  error: TriggerError;
  attempts: number;
  /** Epoch ms when the trigger was first stored. */
  enqueuedAt: number;
  /** Epoch ms when it was dead-lettered. */
  deadAt: number;
}
