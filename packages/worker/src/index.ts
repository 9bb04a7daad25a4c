export { type RetryPolicy, retryDelayMs } from './backoff.js';
export { BatchSizes } from './batch-sizes.js';
export type { CallEvent, CallObserver, FlowInvoker } from './call-executor.js';
export { Dispatcher, type DispatcherOptions } from './dispatcher.js';
export { type FailurePattern, failurePattern, normaliseErrorMessage } from './failure-pattern.js';
export { FleetStats } from './fleet-stats.js';
export { type BreakerThresholds, FlowBreaker } from './flow-breaker.js';
export { FlowHolds, type Hold, type HoldReason, type ProbeResult } from './flow-holds.js';
export {
  QueueDepthSampler,
  type QueueDepthSamplerOptions,
  SAMPLED_JOB_STATES,
} from './queue-depth-sampler.js';
export { type CallPlan, reconcileCall, type SentTrigger } from './reconcile-call.js';
export { startWorker, type WorkerRuntime } from './start-worker.js';
