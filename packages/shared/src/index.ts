// The configuration and flow-name checks, also served alone as `@flow-dispatcher/shared/config`.
export * from './config-entry.js';
export { type HealthServerOptions, startHealthServer } from './observability/health-server.js';
export {
  CENSOR,
  REDACTED_KEYS,
  redactForLog,
  redactionKeys,
  scrubText,
} from './observability/log-redaction.js';
export {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  REDACTED_PATHS,
} from './observability/logger.js';
export {
  buildRevision,
  type CreateMetricsOptions,
  createMetrics,
  ENQUEUE_SOURCES,
  type EnqueueSource,
  type Metrics,
  type MetricsRole,
} from './observability/metrics.js';
export {
  activeTracer,
  contextFromTraceparent,
  otelContext,
  parseTraceparent,
  type Span,
  SpanKind,
  SpanStatusCode,
  startLinkedSpan,
  startTracing,
  type TracingHandle,
  toTraceparent,
  tracingRequested,
} from './observability/tracing.js';
export { packageVersion } from './package-version.js';
export {
  type ChunkJobData,
  chunkIdTime,
  chunkPartition,
  type FlowInput,
  fromRuns,
  newChunkId,
  parseTriggerId,
  type Runs,
  type TriggerAddress,
  toRuns,
  triggerId,
} from './queue/chunk-job.js';
export type { DeadLetter } from './queue/dead-letter.js';
export {
  DEFAULT_PACE_WINDOW_MS,
  decodePace,
  encodePace,
  type FlowPace,
  MAX_PACE_PER_SECOND,
  MAX_PACE_WINDOW_MS,
  MIN_PACE_PER_SECOND,
  MIN_PACE_WINDOW_MS,
  PACE_BUCKET_TTL_MS,
  type PaceBucket,
  type PaceGrant,
  paceCallCap,
  paceCapacity,
  refill,
  returnTokens,
  takeTokens,
} from './queue/flow-pace.js';
export { CLUSTER_SLOTS, crc16, hashTag, keySlot } from './queue/key-slot.js';
export {
  decodeOutcomeEvent,
  OUTCOME_EVENT_LUA,
  type OutcomeEvent,
  type OutcomeEventTrim,
  type OutcomeKind,
} from './queue/outcome-events.js';
export { retainOutcomes } from './queue/outcome-retention.js';
export { checkPartitionLayout, requirePartitionLayout } from './queue/partition-layout.js';
export {
  MAX_QUEUE_PARTITIONS,
  partitionOfKey,
  partitionRoots,
  partitionsLeftBehind,
  slotRange,
} from './queue/queue-partitions.js';
export { RedisKeys } from './queue/redis-keys.js';
export {
  checkTriggerInput,
  defaultInputLimits,
  type InputLimits,
  type InputProblem,
  isValidInputName,
  quoteName,
} from './queue/trigger-input.js';
export {
  DEFAULT_PRIORITY,
  isTriggerPriority,
  jobPriority,
  laneIndex,
  priorityOfJob,
  TRIGGER_PRIORITIES,
  type TriggerPriority,
} from './queue/trigger-priority.js';
export {
  type ChunkJobState,
  decodeTriggerRecord,
  deriveTriggerState,
  encodeTriggerRecord,
  isTerminal,
  type TriggerError,
  type TriggerRecord,
  type TriggerState,
  type TriggerStatus,
  toTriggerStatus,
} from './queue/trigger-record.js';
export {
  MAX_SCHEDULE_AHEAD_MS,
  readNotBefore,
  SCHEDULE_BUCKET_MS,
  SCHEDULE_LEAD_MS,
  ScheduleError,
  scheduleBucket,
} from './queue/trigger-schedule.js';
export {
  connectRedis,
  createRedis,
  isCluster,
  type RedisConnection,
} from './redis/redis-connection.js';
export {
  arrayReply,
  defineScript,
  integerReply,
  lua,
  RedisScript,
  type ScriptArgs,
  type ScriptExtras,
  type ScriptKeys,
  ScriptReplyError,
  type ScriptSpec,
  type ScriptValue,
} from './redis/redis-script.js';
export {
  parseRedisUrl,
  type RedisAddress,
  type RedisTarget,
  redisUrlLabel,
} from './redis/redis-url.js';
