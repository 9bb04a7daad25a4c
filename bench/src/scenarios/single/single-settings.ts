/** What the single scenario runs with (bench-options.ts fills it in). Durations in ms. */
export interface SingleSettings {
  /** Fixed request rates of the latency phases, requests/s. */
  rates: number[];
  /** Length of each fixed-rate phase. */
  durationMs: number;
  /** Length of each saturation phase (one mode, one client count, one round). */
  throughputDurationMs: number;
  /** Saturation rounds, the modes taking turns. */
  rounds: number;
  /** Unmeasured closed-loop load on each mode before its phases. */
  warmupMs: number;
  /** Closed-loop client counts of the saturation phases, ascending, each once. */
  concurrencies: number[];
  /**
   * A Redis to write to, each mode under a fresh prefix removed at the end; undefined: a private
   * redis-server, started and stopped by the scenario.
   */
  redisUrl: string | undefined;
}
