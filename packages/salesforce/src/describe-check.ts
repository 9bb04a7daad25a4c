import { type FlowInput, quoteName } from '@flow-dispatcher/shared';
import type { FlowDescribe } from './types.js';

/**
 * Inputs every Marketing Cloud On-Demand flow takes whether or not its describe lists them
 * (docs/salesforce-api.md#inputs-every-flow-takes: "EmailAddress, IndividualId, and TelephoneNumber are always available").
 */
export const ALWAYS_AVAILABLE_INPUTS: ReadonlySet<string> = new Set([
  'IndividualId',
  'EmailAddress',
  'TelephoneNumber',
]);

export interface DescribeProblem {
  kind: 'missing' | 'unknown';
  /** The input variable at fault. */
  field: string;
  message: string;
}

/**
 * Checks one input against the flow's describe (pure): every required input present (not null),
 * every name one the flow declares. Names are case-sensitive, as Salesforce's are. Returns the
 * first problem or undefined. Callers skip the check when the describe lists no inputs at all:
 * the describe of a flow is unconfirmed (docs/salesforce-api.md#describe), and an empty list more likely means a
 * shape we did not recognise than a flow that takes nothing.
 */
export function checkInputAgainstDescribe(
  input: FlowInput,
  describe: FlowDescribe,
): DescribeProblem | undefined {
  const declared = new Set(describe.inputs.map((parameter) => parameter.name));
  for (const name of Object.keys(input)) {
    if (!declared.has(name) && !ALWAYS_AVAILABLE_INPUTS.has(name)) {
      return {
        kind: 'unknown',
        field: name,
        message: `unknown input ${quoteName(name)}: flow ${describe.name} declares no input of that name (names are case-sensitive)`,
      };
    }
  }
  for (const parameter of describe.inputs) {
    if (
      parameter.required &&
      (input[parameter.name] === undefined || input[parameter.name] === null)
    ) {
      return {
        kind: 'missing',
        field: parameter.name,
        message: `missing required input ${quoteName(parameter.name)} of flow ${describe.name}`,
      };
    }
  }
  return undefined;
}
