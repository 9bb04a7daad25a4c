import type { CancelResult } from '@flow-dispatcher/producer';
import type { FlowDescribe } from '@flow-dispatcher/salesforce';
import { FLOW_NAME_PATTERN, type TriggerStatus } from '@flow-dispatcher/shared';
import { z } from 'zod';
import type { DropInResult } from './drop-in-request.js';
import type { IngestErrorCode } from './ingest-error.js';

/**
 * The shapes of ingest's HTTP API, as zod schemas: request bodies are parsed with them (see
 * trigger-request.ts, drop-in-request.ts), answers are typed by them, and the OpenAPI document
 * (openapi.ts, docs/openapi.json) is generated from them, so the contract cannot drift from the
 * code. The type checks at the end of this file fail the build when a schema and the type the
 * code really returns part ways.
 */

/** Every error code of the native API: its HTTP status and what a client should make of it. */
export const ERROR_CODES = {
  UNAUTHORIZED: { status: 401, meaning: 'no valid bearer token; do not retry with the same one' },
  NOT_FOUND: { status: 404, meaning: 'no such endpoint (method and path)' },
  INVALID_JSON: { status: 400, meaning: 'the body is empty or not JSON; fix the request' },
  FORBIDDEN_KEY: { status: 400, meaning: 'the body holds a "__proto__" key; fix the request' },
  INVALID_REQUEST: {
    status: 400,
    meaning: 'the body or a header does not have the documented shape; fix the request',
  },
  INVALID_FLOW_NAME: {
    status: 400,
    meaning: 'the {flow} of the path cannot be a flow API name; fix the request',
  },
  INVALID_INPUT: {
    status: 400,
    meaning: "an input breaks a rule or the flow's describe; nothing was stored; fix that input",
  },
  TOO_MANY_TRIGGERS: {
    status: 400,
    meaning: 'more triggers than INGEST_MAX_TRIGGERS_PER_REQUEST; split the request',
  },
  FLOW_NOT_FOUND: {
    status: 404,
    meaning:
      'Salesforce says the flow does not exist, is not active or not shared with the API user',
  },
  TRIGGER_NOT_FOUND: {
    status: 404,
    meaning: 'no trigger has this id (not one of ours, or its record expired)',
  },
  BODY_TOO_LARGE: {
    status: 413,
    meaning: 'the body is over INGEST_MAX_BODY_BYTES; send fewer triggers per request',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'the body was not sent as Content-Type: application/json',
  },
  BACKLOG_FULL: {
    status: 429,
    meaning:
      'the backlog is at INGEST_MAX_BACKLOG; nothing was stored; retry after Retry-After seconds',
  },
  REDIS_UNAVAILABLE: {
    status: 503,
    meaning: 'Redis is unreachable; retry after Retry-After seconds with the same keys',
  },
  WRITE_FAILED: {
    status: 503,
    meaning: 'the write may or may not have landed; retry with the same keys',
  },
  SALESFORCE_UNAVAILABLE: {
    status: 503,
    meaning: 'the describe could not be fetched from Salesforce (or none is configured)',
  },
  SHUTTING_DOWN: {
    status: 503,
    meaning: 'this ingest is stopping; retry (on another instance) with the same keys',
  },
  MISCONFIGURED: {
    status: 503,
    meaning: "this ingest's QUEUE_PARTITIONS is not the fleet's; an operator must fix it",
  },
  INTERNAL: {
    status: 500,
    meaning: 'an unexpected error (logged by ingest); retry with the same keys',
  },
} as const satisfies Record<IngestErrorCode, { status: number; meaning: string }>;

/** `{"error":{"code","message"}}`, with `code` one of `codes`. */
export function errorBodySchema(codes: readonly [IngestErrorCode, ...IngestErrorCode[]]) {
  return z.strictObject({
    error: z.strictObject({
      code: z.enum(codes),
      message: z.string().meta({ description: 'what was wrong, in words; never an input value' }),
    }),
  });
}

/** Salesforce's request-level error answer, `[{"errorCode","message"}]` (the drop-in endpoint). */
export function salesforceErrorSchema(codes: readonly [string, ...string[]]) {
  return z
    .array(z.strictObject({ errorCode: z.enum(codes), message: z.string() }))
    .min(1)
    .max(1);
}

export const flowNameSchema = z
  .string()
  .regex(FLOW_NAME_PATTERN)
  .meta({ description: 'a flow API name (letters, digits, underscores; at most 80 characters)' });

export const flowParamsSchema = z.strictObject({ flow: flowNameSchema });

export const acceptedSchema = z.strictObject({
  accepted: z
    .array(
      z.strictObject({
        id: z.string().meta({ description: 'the trigger id, for GET /v1/triggers/{id}' }),
        key: z.string().nullable(),
        duplicate: z.boolean().meta({
          description: 'true when a trigger with this key was already stored (this one was not)',
        }),
      }),
    )
    .meta({ description: 'one receipt per trigger, in request order' }),
});
export type AcceptedBody = z.infer<typeof acceptedSchema>;

export const triggerStatusSchema = z.strictObject({
  id: z.string(),
  flow: z.string(),
  state: z.enum([
    'scheduled',
    'queued',
    'dispatching',
    'succeeded',
    'retrying',
    'dead',
    'cancelled',
  ]),
  attempts: z.int().min(0),
  result: z
    .record(z.string(), z.unknown())
    .nullable()
    .meta({ description: "Salesforce's outputValues once it succeeded" }),
  error: z
    .strictObject({
      code: z.string(),
      message: z.string(),
      status: z.int().optional(),
    })
    .nullable()
    .meta({ description: 'the last error, for retrying and dead' }),
  enqueuedAt: z
    .string()
    .nullable()
    .meta({ description: 'when it was stored (ISO 8601, UTC), null if unknown' }),
  lastAttemptAt: z
    .string()
    .nullable()
    .meta({ description: 'when the last call that carried it was answered, null before any' }),
  settledAt: z
    .string()
    .nullable()
    .meta({ description: 'when it succeeded or was dead-lettered, null until then' }),
});

/** `DELETE /v1/triggers/{id}` and `DELETE /v1/flows/{flow}/keys/{key}` (README, "Cancelling"). */
export const cancelResultSchema = z.strictObject({
  id: z.string().meta({ description: 'the trigger (by key: the id the key names)' }),
  cancelled: z
    .boolean()
    .meta({ description: 'true when this request cancelled it; false when too late or final' }),
  state: z
    .enum(['cancelled', 'dispatching', 'succeeded', 'dead'])
    .meta({ description: 'its state now' }),
});

const describeParameter = {
  name: z.string(),
  type: z.string().nullable(),
};

export const flowDescribeSchema = z.strictObject({
  name: z.string(),
  label: z.string().nullable(),
  type: z.string().nullable(),
  inputs: z.array(
    z.strictObject({
      ...describeParameter,
      required: z.boolean(),
      maxOccurs: z.number(),
      description: z.string().nullable(),
      label: z.string().nullable(),
    }),
  ),
  outputs: z.array(z.strictObject(describeParameter)),
});

/** The drop-in describe: Salesforce's key set, with what ingest knows of the flow. */
export const salesforceDescribeSchema = z.strictObject({
  description: z.string().nullable(),
  inputs: z.array(
    z.strictObject({
      description: z.string().nullable(),
      label: z.string().nullable(),
      maxOccurs: z.number(),
      name: z.string(),
      required: z.boolean(),
      type: z.string().nullable(),
    }),
  ),
  label: z.string().nullable(),
  name: z.string(),
  outputs: z.array(z.strictObject({ name: z.string(), type: z.string().nullable() })),
  standard: z.literal(false),
  targetEntityName: z.null(),
  type: z.literal('FLOW'),
});
export type SalesforceDescribe = z.infer<typeof salesforceDescribeSchema>;

export const dropInResultsSchema = z.array(
  z.strictObject({
    actionName: z.string(),
    isSuccess: z.boolean(),
    errors: z
      .array(
        z.strictObject({
          statusCode: z.enum(['INVALID_INPUT', 'REQUIRED_FIELD_MISSING']),
          message: z.string(),
          fields: z.array(z.string()),
        }),
      )
      .nullable(),
    outputValues: z.strictObject({ triggerId: z.string(), duplicate: z.boolean() }).nullable(),
  }),
);

export const healthSchema = z.strictObject({ status: z.literal('ok') });
export const readySchema = z.strictObject({ status: z.literal('ready') });
export const notReadySchema = z.strictObject({
  status: z.literal('not ready'),
  reason: z.string(),
});

/** A zod schema as the JSON Schema (2020-12, OpenAPI 3.1's dialect) of what it accepts. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest as JsonSchema;
}

export type JsonSchema = Record<string, unknown>;

// The schemas above describe what the code really returns: these fail to compile otherwise.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameChecks: [
  Same<z.infer<typeof triggerStatusSchema>, TriggerStatus>,
  Same<z.infer<typeof flowDescribeSchema>, FlowDescribe>,
  Same<z.infer<typeof dropInResultsSchema>[number], DropInResult>,
  Same<z.infer<typeof cancelResultSchema>, CancelResult>,
] = [true, true, true, true];
void sameChecks;
