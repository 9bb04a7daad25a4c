import { z } from 'zod';
import type { FlowDescribe, FlowInputDescribe } from './types.js';

/**
 * `GET .../actions/custom/flow/{flow}`, parsed leniently. No real describe of a flow was found
 * (docs/salesforce-api.md#describe, unconfirmed): the key set comes from the emailSimple and Write-Off Invoice
 * examples. `name` and `required` are what matter; `maxOccurs > 1` marks a collection; every other
 * key is ignored.
 */

const optionalString = z
  .unknown()
  .optional()
  .transform((v) => (typeof v === 'string' ? v : null));

/** `type` may turn out to be an object in some versions: only a string is kept. */
const parameterSchema = z.object({
  name: z.string().min(1),
  type: optionalString,
  required: z
    .unknown()
    .optional()
    .transform((v) => v === true),
  maxOccurs: z
    .unknown()
    .optional()
    .transform((v) => (typeof v === 'number' && Number.isFinite(v) && v >= 1 ? v : 1)),
  description: optionalString,
  label: optionalString,
});

const parametersSchema = z
  .unknown()
  .optional()
  .transform((value): FlowInputDescribe[] => {
    if (!Array.isArray(value)) return [];
    const parameters: FlowInputDescribe[] = [];
    for (const element of value) {
      const parsed = parameterSchema.safeParse(element);
      if (parsed.success) parameters.push(parsed.data);
    }
    return parameters;
  });

const describeSchema = z.object({
  name: optionalString,
  label: optionalString,
  type: optionalString,
  inputs: parametersSchema,
  outputs: parametersSchema,
});

/**
 * The normalised describe of `flow`, or `undefined` when `body` is not a describe object (not an
 * object, or none of `name`, `inputs`, `outputs` present). `body` is the parsed JSON.
 */
export function parseFlowDescribe(body: unknown, flow: string): FlowDescribe | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  if (!('name' in body) && !('inputs' in body) && !('outputs' in body)) return undefined;
  const parsed = describeSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { name, label, type, inputs, outputs } = parsed.data;
  return {
    name: name ?? flow,
    label,
    type,
    inputs,
    outputs: outputs.map((o) => ({ name: o.name, type: o.type })),
  };
}
