import type { InterviewError } from './salesforce-errors.js';
import type { InputFaultRule } from './simulator-config.js';

interface CompiledRule {
  field: string;
  equals: string | undefined;
  prefix: string | undefined;
  regex: RegExp | undefined;
  error: InterviewError;
  times: number | undefined;
  /** IndividualId → failures served so far (only for rules with `times`). */
  served: Map<string, number>;
}

/**
 * Configured per-input fault rules.
 *
 * State: the compiled rules and, for rules with `times`, how often each IndividualId has failed.
 * Transitions: `check` returns the first matching rule's error and counts it; a rule whose count
 * for an IndividualId reached `times` lets that individual through (later rules still apply);
 * `load` compiles new rules and `clearCounts` forgets the counts, so both start over.
 */
export class InputFaultRules {
  #rules: CompiledRule[] = [];

  load(rules: readonly InputFaultRule[]): void {
    this.#rules = rules.map((rule) => ({
      field: rule.match.field,
      equals: rule.match.equals,
      prefix: rule.match.prefix,
      regex: rule.match.regex === undefined ? undefined : new RegExp(rule.match.regex),
      error: { statusCode: rule.error.statusCode, message: rule.error.message },
      times: rule.times,
      served: new Map(),
    }));
  }

  clearCounts(): void {
    for (const rule of this.#rules) rule.served.clear();
  }

  get empty(): boolean {
    return this.#rules.length === 0;
  }

  check(input: Record<string, unknown>, individualId: string): InterviewError | null {
    for (const rule of this.#rules) {
      const raw = input[rule.field];
      if (raw === undefined || raw === null) continue;
      const value =
        typeof raw === 'string' ? raw : typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
      if (rule.equals !== undefined && value !== rule.equals) continue;
      if (rule.prefix !== undefined && !value.startsWith(rule.prefix)) continue;
      if (rule.regex !== undefined && !rule.regex.test(value)) continue;
      if (rule.times !== undefined) {
        const served = rule.served.get(individualId) ?? 0;
        if (served >= rule.times) continue;
        rule.served.set(individualId, served + 1);
      }
      return rule.error;
    }
    return null;
  }
}
