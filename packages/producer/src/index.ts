export {
  type AdminUiOptions,
  adminUiOptionsFromConfig,
  registerAdminUi,
} from './admin-ui/register-admin-ui.js';
export type { ChunkItem, TriggerReceipt } from './chunk-writer.js';
export { type DeadLetterFilter, DeadLetterQueue } from './dead-letter-queue.js';
export {
  type FleetStatus,
  FlowControl,
  type FlowJobCounts,
  type FlowStatus,
  type PauseResult,
} from './flow-control.js';
export type { FlowDescriber } from './ingest/describe-cache.js';
export {
  type IngestServer,
  type IngestServerOptions,
  startIngestServer,
} from './ingest/ingest-server.js';
export { InvalidTriggerError } from './invalid-trigger-error.js';
export { MAX_KEY_LENGTH, Producer, type ProducerOptions, type TriggerOptions } from './producer.js';
