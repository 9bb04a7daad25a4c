import type { TriggerReceipt } from '@flow-dispatcher/producer';
import { checkInputAgainstDescribe } from '@flow-dispatcher/salesforce';
import { checkTriggerInput, type FlowInput, type InputLimits } from '@flow-dispatcher/shared';
import { z } from 'zod';
import type { DescribeLookup } from './describe-cache.js';
import { IngestError } from './ingest-error.js';

/**
 * The drop-in endpoint speaks Salesforce's invocable-action dialect (docs/salesforce-api.md#per-input-results): the body is
 * `{"inputs":[...]}`, the answer one result per input in order, HTTP 400 when any input failed.
 * These are its pure parts.
 */

/** One error of one input, as Salesforce puts it in a result's `errors`. */
export interface DropInInputError {
  statusCode: 'INVALID_INPUT' | 'REQUIRED_FIELD_MISSING';
  message: string;
  fields: string[];
}

/** One element of the answer: Salesforce's result shape, `outputValues` naming the trigger. */
export interface DropInResult {
  actionName: string;
  isSuccess: boolean;
  errors: DropInInputError[] | null;
  outputValues: { triggerId: string; duplicate: boolean } | null;
}

/** Longest `Idempotency-Key` header: `<key>:<index>` must fit the 256-character key limit. */
export const MAX_IDEMPOTENCY_HEADER_LENGTH = 200;

/** The body of the drop-in POST (also its schema in the OpenAPI document). */
export const dropInBodySchema = z.looseObject(
  {
    inputs: z
      .array(
        z.unknown().meta({
          description: "one flow interview's input variables, as sent to Salesforce",
        }),
        { error: 'inputs must be an array of input objects' },
      )
      .min(1, { error: 'inputs must hold at least one input' }),
  },
  { error: 'the body must be a JSON object {"inputs": [...]}' },
);

/** The body's `inputs`, each still unchecked (pure). Throws a request-level 400 IngestError. */
export function parseDropInRequest(body: unknown, maxInputs: number): unknown[] {
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  if (Array.isArray(inputs) && inputs.length > maxInputs) {
    throw new IngestError(
      400,
      'TOO_MANY_TRIGGERS',
      `inputs holds ${inputs.length} inputs, more than the ${maxInputs} allowed in one request`,
      { field: 'inputs' },
    );
  }
  const parsed = dropInBodySchema.safeParse(body);
  if (!parsed.success) {
    const message = parsed.error.issues[0]?.message ?? 'the body is not a valid request';
    throw new IngestError(400, 'INVALID_REQUEST', message, { field: 'inputs' });
  }
  return parsed.data.inputs;
}

/**
 * The `Idempotency-Key` header (pure): undefined when absent; a 400 IngestError when repeated,
 * empty, too long or not printable ASCII. Input `i` of the request is keyed `<key>:<i>`, so a
 * retried request is recognised input by input.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? undefined : header.trim();
  if (
    value === undefined ||
    value.length === 0 ||
    value.length > MAX_IDEMPOTENCY_HEADER_LENGTH ||
    !/^[\x21-\x7e]+$/.test(value)
  ) {
    throw new IngestError(
      400,
      'INVALID_REQUEST',
      `Idempotency-Key must be one header of 1 to ${MAX_IDEMPOTENCY_HEADER_LENGTH} printable ASCII characters without spaces`,
      { field: 'Idempotency-Key' },
    );
  }
  return value;
}

export function dropInKey(key: string, index: number): string {
  return `${key}:${index}`;
}

/**
 * The problem with one input, as Salesforce would report it for that element (pure): the shape
 * checks of every trigger, then the flow's describe when it is known.
 */
export function checkDropInInput(
  input: unknown,
  inputLimits: InputLimits,
  describe: DescribeLookup,
): DropInInputError | undefined {
  const problem = checkTriggerInput(input, inputLimits);
  if (problem) {
    const missing = problem.field === 'IndividualId' && /required/.test(problem.message);
    return {
      statusCode: missing ? 'REQUIRED_FIELD_MISSING' : 'INVALID_INPUT',
      message: `${problem.field} ${problem.message}`,
      fields: [problem.field],
    };
  }
  if (describe.kind === 'ready') {
    const mismatch = checkInputAgainstDescribe(input as FlowInput, describe.describe);
    if (mismatch) {
      return {
        statusCode: mismatch.kind === 'missing' ? 'REQUIRED_FIELD_MISSING' : 'INVALID_INPUT',
        message: mismatch.message,
        fields: [mismatch.field],
      };
    }
  }
  return undefined;
}

/** The answer's elements, in input order: a receipt or the input's error for each (pure). */
export function dropInResults(
  flow: string,
  outcomes: readonly (TriggerReceipt | DropInInputError)[],
): DropInResult[] {
  return outcomes.map((outcome) =>
    'id' in outcome
      ? {
          actionName: flow,
          isSuccess: true,
          errors: null,
          outputValues: { triggerId: outcome.id, duplicate: outcome.duplicate },
        }
      : { actionName: flow, isSuccess: false, errors: [outcome], outputValues: null },
  );
}

/** Salesforce's request-level error codes for ingest's refusals (`[{"errorCode","message"}]`). */
export const SALESFORCE_CODES: Record<IngestError['code'], { errorCode: string; status?: number }> =
  {
    UNAUTHORIZED: { errorCode: 'INVALID_SESSION_ID' },
    NOT_FOUND: { errorCode: 'NOT_FOUND' },
    INVALID_JSON: { errorCode: 'JSON_PARSER_ERROR' },
    FORBIDDEN_KEY: { errorCode: 'JSON_PARSER_ERROR' },
    INVALID_REQUEST: { errorCode: 'JSON_PARSER_ERROR' },
    // Salesforce answers an unknown flow with 404 NOT_FOUND; a name that cannot be a flow is one.
    INVALID_FLOW_NAME: { errorCode: 'NOT_FOUND', status: 404 },
    INVALID_INPUT: { errorCode: 'INVALID_INPUT' },
    TOO_MANY_TRIGGERS: { errorCode: 'LIMIT_EXCEEDED' },
    FLOW_NOT_FOUND: { errorCode: 'NOT_FOUND' },
    TRIGGER_NOT_FOUND: { errorCode: 'NOT_FOUND' },
    BODY_TOO_LARGE: { errorCode: 'REQUEST_ENTITY_TOO_LARGE' },
    UNSUPPORTED_MEDIA_TYPE: { errorCode: 'UNSUPPORTED_MEDIA_TYPE' },
    BACKLOG_FULL: { errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    REDIS_UNAVAILABLE: { errorCode: 'SERVER_UNAVAILABLE' },
    WRITE_FAILED: { errorCode: 'SERVER_UNAVAILABLE' },
    SALESFORCE_UNAVAILABLE: { errorCode: 'SERVER_UNAVAILABLE' },
    SHUTTING_DOWN: { errorCode: 'SERVER_UNAVAILABLE' },
    MISCONFIGURED: { errorCode: 'SERVER_UNAVAILABLE' },
    INTERNAL: { errorCode: 'UNKNOWN_EXCEPTION' },
  };

/** A refusal in Salesforce's request-level shape, with its HTTP status (pure). */
export function toSalesforceError(err: IngestError): {
  status: number;
  body: { errorCode: string; message: string }[];
} {
  const mapped = SALESFORCE_CODES[err.code];
  const message =
    err.code === 'UNAUTHORIZED'
      ? 'Session expired or invalid'
      : err.code === 'INVALID_FLOW_NAME' ||
          err.code === 'FLOW_NOT_FOUND' ||
          err.code === 'NOT_FOUND'
        ? 'The requested resource does not exist'
        : err.message;
  return { status: mapped.status ?? err.status, body: [{ errorCode: mapped.errorCode, message }] };
}
