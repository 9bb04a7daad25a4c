/**
 * The daily API budget (pure arithmetic). The fleet may let the org's rolling 24-hour usage reach
 * `share × max`; usage is what Salesforce last reported (`Sforce-Limit-Info: api-usage=used/max`),
 * which includes every integration of the org, not only ours.
 *
 * Calls in flight may or may not be in the last report, so they are counted on top of it: a call
 * is granted only while `used + inFlight + 1 ≤ cap`. That over-counts a little and never under-counts,
 * so the cap holds whatever the order the answers come back in.
 */
export interface Usage {
  used: number;
  max: number;
}

export function budgetCap(usage: Usage, share: number): number {
  return Math.floor(usage.max * share);
}

/** Calls that may still start now. */
export function callsLeft(usage: Usage, share: number, inFlight: number): number {
  return Math.max(0, budgetCap(usage, share) - usage.used - inFlight);
}

/**
 * Whether the usage is near the budget's edge: at most four rounds of the fleet's whole
 * concurrency (`maxConcurrency` calls each) left before the cap, not counting the call kept back
 * for the GET /limits that re-reads the usage once the cap is reached. Near the edge every reported
 * figure is worth storing at once, and a finished call's permit goes back to the fleet rather than
 * straight to the next local call, so that the acquire script, which counts the calls in flight,
 * decides each grant.
 */
export function nearBudgetEdge(usage: Usage, share: number, maxConcurrency: number): boolean {
  return budgetCap(usage, share) - 1 - usage.used <= 4 * maxConcurrency;
}

/**
 * How much longer than usual a call may wait to fill as the budget runs down: 1× while more than
 * half of the budget is left, growing to 10× as it runs out. Fuller calls deliver more triggers
 * per call when calls are what is scarce.
 */
export function lingerFactor(usage: Usage | undefined, share: number): number {
  if (!usage || usage.max <= 0) return 1;
  const cap = budgetCap(usage, share);
  if (cap <= 0) return 10;
  const left = Math.max(0, cap - usage.used) / cap;
  if (left >= 0.5) return 1;
  return Math.min(10, 0.5 / Math.max(left, 0.05));
}
