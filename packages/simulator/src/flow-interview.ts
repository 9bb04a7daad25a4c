import { randomFillSync } from 'node:crypto';
import type { CompiledFlow } from './flow-catalog.js';
import { type InterviewError, interviewErrors } from './salesforce-errors.js';
import type { SimulatorContext } from './simulator-context.js';

export interface InterviewBatch {
  /** The JSON array answered to the client, one element per input, in input order. */
  body: string;
  succeeded: number;
  failed: number;
  /** Each input's IndividualId in order ('' when absent), when asked for. */
  individualIds: string[] | undefined;
}

/** Bytes per Flow__InterviewGuid: 38 hex digits, '-', 4 hex digits, like the real v63 answer. */
const guidBytes = 21;

const successTail = '"Flow__InterviewStatus":"Started"},"sortOrder":-1,"version":1}';

/**
 * Runs one interview per input and builds the answer. Each input is checked in this order:
 * undeclared input name (element mode), missing required input, the governor limit, the fault
 * rules, then the random transient/permanent rates. An interview that passes all of them succeeds
 * and is recorded as a delivery of its IndividualId.
 *
 * The answer is built as strings from fragments prepared per flow, so a 200-input call allocates
 * about one string per input. Key order matches the real v63 response: actionName, errors,
 * invocationId, isSuccess, outcome, outputValues, sortOrder, version.
 */
export function runInterviews(
  ctx: SimulatorContext,
  flow: CompiledFlow,
  inputs: readonly Record<string, unknown>[],
  recordIds: boolean,
): InterviewBatch {
  const { config } = ctx;
  const n = inputs.length;
  const governor =
    config.governorLimit !== null && n > config.governorLimit.maxInputs
      ? {
          statusCode: config.governorLimit.statusCode ?? interviewErrors.governorDefault.statusCode,
          message: config.governorLimit.message ?? interviewErrors.governorDefault.message,
        }
      : null;
  const checkUndeclared = flow.declared !== null && config.unknownInputMode === 'element';
  const transientRate = config.transientInputRate;
  const randomRate = transientRate + config.permanentInputRate;
  const guids = randomFillSync(Buffer.allocUnsafe(n * guidBytes)).toString('hex');
  const parts = new Array<string>(n);
  const individualIds = recordIds ? new Array<string>(n) : undefined;
  let succeeded = 0;

  for (let i = 0; i < n; i++) {
    const input = inputs[i] ?? {};
    const rawId = input.IndividualId;
    const individualId =
      typeof rawId === 'string'
        ? rawId
        : rawId === undefined || rawId === null
          ? ''
          : String(rawId);
    if (individualIds !== undefined) individualIds[i] = individualId;

    let error: InterviewError | null = null;
    if (checkUndeclared) error = undeclaredInput(flow, input);
    if (error === null) error = missingRequired(flow, input);
    if (error === null) error = governor;
    if (error === null && !ctx.inputFaults.empty)
      error = ctx.inputFaults.check(input, individualId);
    if (error === null && randomRate > 0) {
      const draw = ctx.random();
      if (draw < transientRate) error = interviewErrors.transient;
      else if (draw < randomRate) error = interviewErrors.permanent;
    }

    if (error === null) {
      const g = i * guidBytes * 2;
      parts[i] =
        `${flow.resultHead}null,"invocationId":null,"isSuccess":true,"outcome":null,"outputValues":{${flow.outputFragment}"Flow__InterviewGuid":"${guids.slice(g, g + 38)}-${guids.slice(g + 38, g + 42)}",${successTail}`;
      succeeded++;
      if (individualId !== '') ctx.ledger.record(individualId);
    } else {
      parts[i] = flow.resultHead + failureTail(error);
    }
  }
  return { body: `[${parts.join(',')}]`, succeeded, failed: n - succeeded, individualIds };
}

/** The first input name the flow does not declare, for the unknownInputMode 'request' check. */
export function firstUndeclaredName(
  flow: CompiledFlow,
  inputs: readonly Record<string, unknown>[],
): string | null {
  if (flow.declared === null) return null;
  for (const input of inputs) {
    for (const key in input) if (!flow.declared.has(key)) return key;
  }
  return null;
}

function undeclaredInput(
  flow: CompiledFlow,
  input: Record<string, unknown>,
): InterviewError | null {
  const declared = flow.declared;
  if (declared === null) return null;
  for (const key in input) if (!declared.has(key)) return interviewErrors.unknownInput(key);
  return null;
}

function missingRequired(
  flow: CompiledFlow,
  input: Record<string, unknown>,
): InterviewError | null {
  for (const name of flow.required) {
    const value = input[name];
    if (value === undefined || value === null || value === '') {
      return interviewErrors.requiredMissing(name);
    }
  }
  return null;
}

const tails = new Map<string, string>();

/** Everything after `"errors":` of a failed element; the same few errors repeat, so cache them. */
function failureTail(error: InterviewError): string {
  const key = `${error.statusCode}\n${error.message}`;
  let tail = tails.get(key);
  if (tail === undefined) {
    tail = `${JSON.stringify([{ statusCode: error.statusCode, message: error.message, fields: [] }])},"invocationId":null,"isSuccess":false,"outcome":null,"outputValues":null,"sortOrder":-1,"version":1}`;
    if (tails.size >= 1000) tails.clear();
    tails.set(key, tail);
  }
  return tail;
}
