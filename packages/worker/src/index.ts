export { type RetryPolicy, retryDelayMs } from './backoff.js';
export type { CallEvent, CallObserver, FlowInvoker } from './call-executor.js';

export { type CallSlots, LocalCallSlots, type ReleaseSlot } from './call-slots.js';
export { Dispatcher, type DispatcherOptions } from './dispatcher.js';
export { FleetStats, STATS_BUCKET_SECONDS } from './fleet-stats.js';
export {
  QueueDepthSampler,
  type QueueDepthSamplerOptions,
  SAMPLED_JOB_STATES,
} from './queue-depth-sampler.js';
export { type CallPlan, reconcileCall, type SentTrigger } from './reconcile-call.js';
export { startWorker, tokenSourceFromConfig, type WorkerRuntime } from './start-worker.js';
