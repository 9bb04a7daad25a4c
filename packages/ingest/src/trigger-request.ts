import type { ChunkItem } from '@flow-dispatcher/producer';
import { MAX_KEY_LENGTH } from '@flow-dispatcher/producer';
import {
  checkTriggerInput,
  type FlowInput,
  type InputLimits,
  quoteName,
  readNotBefore,
  ScheduleError,
} from '@flow-dispatcher/shared';
import { z } from 'zod';
import { IngestError } from './ingest-error.js';
import { formatIssuePath } from './issue-path.js';

export interface TriggerRequestLimits {
  /** Triggers in one request. */
  maxTriggers: number;
  /** Bounds on each input. */
  inputLimits: InputLimits;
}

const unknownFields = (keys: readonly string[]) =>
  `has unknown field(s) ${keys.map(quoteName).join(', ')}`;

const keySchema = z
  .string({ error: 'must be a string or null' })
  .min(1, { error: `must be 1 to ${MAX_KEY_LENGTH} characters` })
  .max(MAX_KEY_LENGTH, { error: `must be 1 to ${MAX_KEY_LENGTH} characters` })
  .nullish()
  .meta({
    description:
      'idempotency key: a trigger whose key was already stored is not stored again (duplicate: true)',
  });

const prioritySchema = z
  .enum(['high', 'normal', 'low'], { error: 'must be "high", "normal" or "low"' })
  .optional();
const notBeforeSchema = z
  .union([z.string(), z.number()], {
    error: 'must be an ISO-8601 instant with a zone, or epoch milliseconds',
  })
  .optional();
const delaySchema = z.number({ error: 'must be a whole number of milliseconds' }).optional();

const triggerSchema = z.strictObject(
  {
    input: z.unknown().optional().meta({
      description:
        "the flow's input variables: an object of names to values, with IndividualId (checked against the flow's describe when Salesforce is configured)",
    }),
    key: keySchema,
    priority: prioritySchema,
    notBefore: notBeforeSchema,
    delay: delaySchema,
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${unknownFields(issue.keys)} (a trigger has "input" and optional "key", "priority", "notBefore" or "delay")`
        : 'must be an object {"input": {...}, "key": "optional idempotency key"}',
  },
);

/** The body of `POST /v1/flows/{flow}/triggers` (also its schema in the OpenAPI document). */
export const triggerBodySchema = z.strictObject(
  {
    triggers: z
      .array(triggerSchema, { error: 'must be an array of triggers' })
      .min(1, { error: 'must hold at least one trigger' }),
    priority: prioritySchema,
    notBefore: notBeforeSchema,
    delay: delaySchema,
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `the body ${unknownFields(issue.keys)} (expected "triggers" and optional "priority", "notBefore" or "delay")`
        : 'the body must be a JSON object {"triggers": [...]}',
  },
);

/**
 * Reads the body of `POST /v1/flows/{flow}/triggers` (pure): the shape, the number of triggers,
 * each key and each input (`checkTriggerInput`: IndividualId, names, depth, size). Throws a 400
 * IngestError naming the first problem; a request is taken whole or not at all.
 */
export function parseTriggerRequest(body: unknown, limits: TriggerRequestLimits): ChunkItem[] {
  const triggers = (body as { triggers?: unknown } | null)?.triggers;
  if (Array.isArray(triggers) && triggers.length > limits.maxTriggers) {
    throw new IngestError(
      400,
      'TOO_MANY_TRIGGERS',
      `triggers holds ${triggers.length} triggers, more than the ${limits.maxTriggers} allowed in one request`,
      { field: 'triggers' },
    );
  }
  const parsed = triggerBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = formatIssuePath(issue?.path ?? []);
    const message = issue?.message ?? 'the body is not a valid request';
    throw new IngestError(400, 'INVALID_REQUEST', path ? `${path} ${message}` : message, {
      field: path || 'body',
    });
  }
  const now = Date.now();
  const due = (notBefore: unknown, delay: unknown, at: string): number | undefined => {
    try {
      // notBefore: an ISO-8601 instant with a zone (or epoch ms); delay: ms from now.
      return readNotBefore(notBefore, delay, now);
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      throw new IngestError(400, 'INVALID_REQUEST', `${at}${err.message}`, { field: err.field });
    }
  };
  const request = parsed.data;
  const bodyDue = due(request.notBefore, request.delay, '');
  return parsed.data.triggers.map((trigger, index) => {
    const problem = checkTriggerInput(trigger.input, limits.inputLimits);
    if (problem) {
      const field = problem.field === 'input' ? 'input' : `input.${problem.field}`;
      throw new IngestError(
        400,
        'INVALID_INPUT',
        `triggers[${index}].${field} ${problem.message}`,
        { field: problem.field },
      );
    }
    // A trigger's own priority and schedule win over the body's (the request's default).
    const own = trigger.notBefore !== undefined || trigger.delay !== undefined;
    return {
      input: trigger.input as FlowInput,
      key: trigger.key ?? null,
      priority: trigger.priority ?? request.priority,
      notBefore: own ? due(trigger.notBefore, trigger.delay, `triggers[${index}].`) : bodyDue,
    };
  });
}
