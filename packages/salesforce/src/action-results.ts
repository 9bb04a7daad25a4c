import { z } from 'zod';
import type { ActionResult, InputError, RequestError } from './types.js';

/**
 * Wire schemas of an invocable-action answer (docs/salesforce-api.md#per-input-results). Parsing is lenient where the sources
 * disagree and strict only where reconciliation depends on it: an element must say `isSuccess`.
 */

const MESSAGE_MAX_CHARS = 2000;

const stringOr = (fallback: string) =>
  z
    .unknown()
    .optional()
    .transform((value) =>
      typeof value === 'string' ? value.slice(0, MESSAGE_MAX_CHARS) : fallback,
    );

const fieldsSchema = z
  .unknown()
  .optional()
  .transform((value) =>
    Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : [],
  );

const inputErrorSchema = z.object({
  statusCode: stringOr('UNKNOWN'),
  message: stringOr(''),
  fields: fieldsSchema,
});

/** `errors` is `null` on success in old and new versions, `[]` in some real responses. */
const errorsSchema = z
  .unknown()
  .optional()
  .transform((value): InputError[] => {
    if (!Array.isArray(value)) return [];
    const errors: InputError[] = [];
    for (const element of value) {
      const parsed = inputErrorSchema.safeParse(element);
      if (parsed.success) errors.push(parsed.data);
    }
    return errors;
  });

const outputValuesSchema = z
  .unknown()
  .optional()
  .transform((value) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null,
  );

/** Unknown keys (`invocationId`, `outcome`, `sortOrder`, `version`, ...) are dropped. */
const actionResultSchema = z.object({
  actionName: z
    .unknown()
    .optional()
    .transform((value) => (typeof value === 'string' ? value : null)),
  isSuccess: z.boolean(),
  errors: errorsSchema,
  outputValues: outputValuesSchema,
});

/**
 * The per-input results of an invocable-action call. Accepts the documented array and, because
 * the REST guide shows some answers as a bare object, a single object. `undefined` when the body is
 * not a result array/object (a request-level error envelope, HTML, a composite answer, ...).
 */
export function parseActionResults(body: unknown): ActionResult[] | undefined {
  const elements = Array.isArray(body) ? body : [body];
  if (elements.length === 0) return Array.isArray(body) ? [] : undefined;
  const results: ActionResult[] = [];
  for (const element of elements) {
    const parsed = actionResultSchema.safeParse(element);
    if (!parsed.success) return undefined;
    results.push(parsed.data);
  }
  return results;
}

const requestErrorSchema = z.object({
  errorCode: z.string(),
  message: stringOr(''),
  fields: z
    .unknown()
    .optional()
    .transform((value) =>
      Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : undefined,
    ),
});

/**
 * A request-level error envelope, `[{"errorCode","message","fields"?}]` (also accepted as a bare
 * object). `undefined` when the body is not such an envelope.
 */
export function parseRequestErrors(body: unknown): RequestError[] | undefined {
  const elements = Array.isArray(body) ? body : [body];
  if (elements.length === 0) return undefined;
  const errors: RequestError[] = [];
  for (const element of elements) {
    const parsed = requestErrorSchema.safeParse(element);
    if (!parsed.success) return undefined;
    const { fields, ...rest } = parsed.data;
    errors.push(fields === undefined ? rest : { ...rest, fields });
  }
  return errors;
}
