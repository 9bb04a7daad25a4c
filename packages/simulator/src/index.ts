export type { CallStatus, RecordedCall } from './call-log.js';
export { runSimulatorCli, type SimulatorCliIo, simulatorUsage } from './cli.js';
export type { CallFault } from './fault-injection.js';
export type { RequestKind } from './request-kind.js';
export type { RecordedRequest } from './request-log.js';
export { type Simulator, type SimulatorOptions, startSimulator } from './simulator.js';
export {
  type AuthConfig,
  alwaysAvailableInputs,
  type ConcurrencyRefusal,
  type FailNext,
  type FlowInputSpec,
  type FlowOutputSpec,
  type FlowSpec,
  type InputFaultRule,
  type LatencyDistribution,
  type LatencyModel,
  type RequestRefusal,
  type SimulatorConfig,
  type SimulatorConfigPatch,
  simulatorDefaults,
} from './simulator-config.js';
export { SimulatorConfigError, SimulatorUsageError } from './simulator-errors.js';
export type { RequestCount, SimulatorStats } from './simulator-stats.js';
