// What a backend meets in this package's API, so that it need not import @flow-dispatcher/shared.
export {
  ConfigError,
  type DeadLetter,
  type FlowInput,
  type FlowPace,
  type InputEdits,
  InvalidPaceError,
  isConfigError,
  type OutcomeEvent,
  type OutcomeKind,
  type RedisConnection,
  type TriggerError,
  type TriggerPriority,
  type TriggerState,
  type TriggerStatus,
} from '@flow-dispatcher/shared';
export type { ChunkItem, TriggerReceipt } from './chunk-writer.js';
export { ContendedTransactionError } from './contended-transaction-error.js';
export { type DeadLetterFilter, DeadLetterQueue, type ReplayOptions } from './dead-letter-queue.js';
export {
  type FleetStatus,
  FlowBusyError,
  FlowControl,
  type FlowJobCounts,
  type FlowStatus,
  type ForgetResult,
  type HoldView,
  type PaceOptions,
  type PaceResult,
  type PauseResult,
} from './flow-control.js';
export { FlowQueues } from './flow-queues.js';
export { GroupCommit, type GroupCommitOptions } from './group-commit/group-commit.js';
export type {
  CommitObserver,
  TriggerCommitter,
  WriteChunk,
} from './group-commit/trigger-committer.js';
export { InputEditConflictError, InvalidInputEditsError } from './input-edit-errors.js';
export { InvalidTriggerError } from './invalid-trigger-error.js';
export type { OutcomeReadOptions, OutcomeTailOptions } from './outcome-reader.js';
export {
  type PartitionPart,
  RoundRobin,
  splitByClassAndPartition,
  splitByPartition,
} from './partition-routing.js';
export {
  type CancelResult,
  MAX_KEY_LENGTH,
  type NotBefore,
  Producer,
  type ProducerOptions,
  type TriggerManyOptions,
  type TriggerOptions,
} from './producer.js';
export { isProducerClosedError, ProducerClosedError } from './producer-closed-error.js';
