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
  /** The call's shared transaction broke a governor limit: every input failed, nothing ran. */
  rolledBack: boolean;
}

/** Bytes per Flow__InterviewGuid: 38 hex digits, '-', 4 hex digits, like the real v63 answer. */
const guidBytes = 21;

const successTail = '"Flow__InterviewStatus":"Started"},"sortOrder":-1,"version":1}';

/**
 * Runs one interview per input and builds the answer.
 *
 * The inputs of one call share one bulk transaction. When the call carries more inputs than the
 * flow's transaction capacity, that transaction breaks a governor limit and rolls back: every
 * input fails with the generic UNKNOWN_EXCEPTION flow fault (the limit's own text never reaches
 * the answer), nothing is delivered, and no fault rule or random rate is consulted.
 *
 * Otherwise each input is checked in this order: undeclared input name (element mode), missing
 * required input, the fault rules, then the random transient/permanent rates. An interview that
 * passes all of them succeeds and is recorded as a delivery of its IndividualId.
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
  const capacity = flow.transactionCapacity ?? config.transactionCapacity;
  if (capacity !== null && n > capacity) return rolledBack(flow, inputs, recordIds);
  const checkUndeclared = flow.declared !== null && config.unknownInputMode === 'element';
  const transientRate = config.transientInputRate;
  const randomRate = transientRate + config.permanentInputRate;
  const guids = randomFillSync(Buffer.allocUnsafe(n * guidBytes)).toString('hex');
  const parts = new Array<string>(n);
  const individualIds = recordIds ? new Array<string>(n) : undefined;
  let succeeded = 0;

  for (let i = 0; i < n; i++) {
    const input = inputs[i] ?? {};
    const individualId = individualIdOf(input);
    if (individualIds !== undefined) individualIds[i] = individualId;

    let error: InterviewError | null = null;
    if (checkUndeclared) error = undeclaredInput(flow, input);
    if (error === null) error = missingRequired(flow, input);
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
  return {
    body: `[${parts.join(',')}]`,
    succeeded,
    failed: n - succeeded,
    individualIds,
    rolledBack: false,
  };
}

/** The answer of a call whose shared transaction rolled back: the same failure for every input. */
function rolledBack(
  flow: CompiledFlow,
  inputs: readonly Record<string, unknown>[],
  recordIds: boolean,
): InterviewBatch {
  const element = flow.resultHead + failureTail(interviewErrors.rolledBack);
  return {
    body: `[${new Array<string>(inputs.length).fill(element).join(',')}]`,
    succeeded: 0,
    failed: inputs.length,
    individualIds: recordIds ? inputs.map(individualIdOf) : undefined,
    rolledBack: true,
  };
}

function individualIdOf(input: Record<string, unknown>): string {
  const rawId = input.IndividualId;
  if (typeof rawId === 'string') return rawId;
  return rawId === undefined || rawId === null ? '' : String(rawId);
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
