export { type RetryPolicy, retryDelayMs } from './backoff.js';
export { BatchSizes } from './batch-sizes.js';
export { budgetCap, callsLeft, lingerFactor, type Usage } from './budget.js';
export type { CallEvent, CallObserver, FlowInvoker } from './call-executor.js';
export { type CallPermit, type CallSlots, LocalCallSlots } from './call-slots.js';
export { Dispatcher, type DispatcherOptions } from './dispatcher.js';
export { type FailurePattern, failurePattern, normaliseErrorMessage } from './failure-pattern.js';
export { FleetLimiter, type FleetLimiterOptions, permitLeaseMs } from './fleet-limiter.js';
export { FleetStats } from './fleet-stats.js';
export { FleetTokenSource } from './fleet-token-source.js';
export { type BreakerThresholds, FlowBreaker } from './flow-breaker.js';
export { FlowHolds, type Hold, type HoldReason, type ProbeResult } from './flow-holds.js';
export { type LimitSignal, limitSignal, type PauseCause, pauseMs } from './limit-signals.js';
export {
  QueueDepthSampler,
  type QueueDepthSamplerOptions,
  SAMPLED_JOB_STATES,
} from './queue-depth-sampler.js';
export { type CallPlan, reconcileCall, type SentTrigger } from './reconcile-call.js';
export {
  fleetTokenSourceFromConfig,
  startWorker,
  tokenMinterFromConfig,
  tokenSourceFromConfig,
  type WorkerRuntime,
} from './start-worker.js';
