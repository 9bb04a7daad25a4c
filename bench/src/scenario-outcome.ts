/**
 * How a scenario with a report of its own (single, cluster) ended: its report, why it failed, or
 * why it did not run.
 */
export type ScenarioOutcome<T> =
  | { status: 'ok'; result: T }
  | { status: 'failed'; error: string }
  | { status: 'skipped'; reason: string };

/** One line for an outcome without a report; a failure's error is among the report's FAILED lines (pure). */
export function outcomeLine(title: string, outcome: ScenarioOutcome<unknown>): string {
  if (outcome.status === 'skipped') return `${title}: skipped: ${outcome.reason}`;
  return `${title}: ${outcome.status}`;
}
