import type { CallLog } from './call-log.js';
import type { ConcurrencyGauge } from './concurrency-gauge.js';
import type { DailyAllocation } from './daily-allocation.js';
import type { DeliveryLedger } from './delivery-ledger.js';
import type { FaultInjector } from './fault-injection.js';
import type { FlowCatalog } from './flow-catalog.js';
import type { InputFaultRules } from './input-faults.js';
import type { RequestLog } from './request-log.js';
import type { Random } from './seeded-random.js';
import type { SimulatorConfig } from './simulator-config.js';
import type { StatsCounters } from './simulator-stats.js';
import type { TokenStore } from './token-store.js';

/** Everything a request handler may read or change; one per running simulator. */
export interface SimulatorContext {
  /** Current configuration, frozen; replaced as a whole by `configure`. */
  config: SimulatorConfig;
  /** `http://host:port` once listening. */
  url: string;
  random: Random;
  tokens: TokenStore;
  daily: DailyAllocation;
  gauge: ConcurrencyGauge;
  faults: FaultInjector;
  inputFaults: InputFaultRules;
  flows: FlowCatalog;
  calls: CallLog;
  requests: RequestLog;
  ledger: DeliveryLedger;
  counters: StatsCounters;
  /** Latency and hang timers not yet fired; `close()` clears them. */
  timers: Set<NodeJS.Timeout>;
}

/** Runs `fn` after `ms` unless the simulator closes first. */
export function schedule(ctx: SimulatorContext, ms: number, fn: () => void): void {
  const timer = setTimeout(() => {
    ctx.timers.delete(timer);
    fn();
  }, ms);
  ctx.timers.add(timer);
}
