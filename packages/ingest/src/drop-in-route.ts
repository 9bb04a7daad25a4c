import type { ChunkItem, TriggerReceipt } from '@flow-dispatcher/producer';
import type { FlowDescribe } from '@flow-dispatcher/salesforce';
import { API_VERSION_PATTERN, isApiVersion } from '@flow-dispatcher/shared';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { z } from 'zod';
import {
  dropInResultsSchema,
  flowNameSchema,
  jsonSchema,
  type SalesforceDescribe,
  salesforceDescribeSchema,
} from './api-schemas.js';
import {
  checkDropInInput,
  type DropInInputError,
  type DropInResult,
  dropInBodySchema,
  dropInKey,
  dropInResults,
  MAX_IDEMPOTENCY_HEADER_LENGTH,
  parseDropInRequest,
  parseIdempotencyKey,
} from './drop-in-request.js';
import { flowNotFound, flowParam } from './flow-param.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError } from './ingest-error.js';
import {
  ANY_ROUTE_CODES,
  apiSchema,
  BODY_CODES,
  GUARDED_CODES,
  PARAM_CODES,
  STORE_CODES,
  salesforceErrorAnswers,
} from './openapi.js';
import { requestTraceparent } from './request-span.js';

const DROP_IN_URL = '/services/data/v:version/actions/custom/flow/:flow';

const dropInParams = z.strictObject({
  version: z
    .string()
    .regex(API_VERSION_PATTERN)
    .meta({ description: 'a Salesforce API version, e.g. 65.0' }),
  flow: flowNameSchema,
});

const INVOKE_SCHEMA = apiSchema({
  operationId: 'invokeFlowDropIn',
  summary: "Salesforce's invocable-action call: enqueue one trigger per input",
  description:
    'Same request and answers as Salesforce: 200 when every input was stored, 400 when any failed ' +
    '(isSuccess: false for those, the others stored). outputValues holds {triggerId, duplicate}. ' +
    'With an Idempotency-Key header, input i is keyed "<key>:<i>", so a retried request is recognised.',
  tags: ['drop-in'],
  authenticated: true,
  params: dropInParams,
  headers: [
    {
      name: 'Idempotency-Key',
      description: 'makes a retried request safe: input i is stored under "<key>:<i>"',
      schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_HEADER_LENGTH },
    },
  ],
  body: dropInBodySchema,
  answers: {
    200: { description: 'every input stored', schema: jsonSchema(dropInResultsSchema) },
    ...salesforceErrorAnswers([
      ...ANY_ROUTE_CODES,
      ...GUARDED_CODES,
      ...PARAM_CODES,
      ...BODY_CODES,
      'NOT_FOUND',
      'INVALID_FLOW_NAME',
      'TOO_MANY_TRIGGERS',
      'FLOW_NOT_FOUND',
      ...STORE_CODES,
    ]),
  },
});
// 400 is both a request-level refusal and a partial failure: say both.
const invoke400 = INVOKE_SCHEMA.response[400];
if (invoke400) {
  const refusal = invoke400.content['application/json']?.schema ?? {};
  invoke400.description = `some inputs failed (isSuccess: false; the others were stored), or the request was refused as a whole: ${invoke400.description}`;
  invoke400.content = {
    'application/json': { schema: { anyOf: [jsonSchema(dropInResultsSchema), refusal] } },
  };
}

const DESCRIBE_SCHEMA = apiSchema({
  operationId: 'describeFlowDropIn',
  summary: "Salesforce's describe of a flow action",
  description:
    "The flow's describe as Salesforce answers it (the keys ingest keeps: name, label, inputs and outputs with name, type, required, maxOccurs, label, description).",
  tags: ['drop-in'],
  authenticated: true,
  params: dropInParams,
  answers: {
    200: { description: "the flow's describe", schema: jsonSchema(salesforceDescribeSchema) },
    ...salesforceErrorAnswers([
      ...ANY_ROUTE_CODES,
      ...GUARDED_CODES,
      ...PARAM_CODES,
      'NOT_FOUND',
      'INVALID_FLOW_NAME',
      'FLOW_NOT_FOUND',
      'SALESFORCE_UNAVAILABLE',
    ]),
  },
});

/** The describe in Salesforce's key set (docs/salesforce-api.md#describe), from ingest's (pure). */
export function salesforceDescribe(describe: FlowDescribe): SalesforceDescribe {
  return {
    description: null,
    inputs: describe.inputs.map((input) => ({
      description: input.description,
      label: input.label,
      maxOccurs: input.maxOccurs,
      name: input.name,
      required: input.required,
      type: input.type,
    })),
    label: describe.label,
    name: describe.name,
    outputs: describe.outputs.map((output) => ({ name: output.name, type: output.type })),
    standard: false,
    targetEntityName: null,
    type: 'FLOW',
  };
}

/**
 * `POST /services/data/v{version}/actions/custom/flow/{flow}`: Salesforce's own invocable-action
 * call, so a backend that calls Salesforce today changes only its base URL and token. A problem
 * with the request as a whole stores nothing and is answered `[{"errorCode","message"}]`; a bad
 * input fails that element only (`isSuccess: false`), the others are stored, and the answer is
 * 400 when any element failed, as Salesforce does. `outputValues` holds `{triggerId, duplicate}`.
 * `GET` on the same path is Salesforce's describe, from the describe cache (`salesforceDescribe`),
 * so code that describes a flow before invoking it works unchanged.
 */
export function registerDropInRoute(
  app: FastifyInstance,
  ctx: IngestContext,
  authenticate: onRequestHookHandler,
): void {
  app.get<{ Params: { version: string; flow: string } }>(
    DROP_IN_URL,
    { onRequest: authenticate, schema: DESCRIBE_SCHEMA },
    async (request): Promise<SalesforceDescribe> => {
      checkVersion(request.params.version);
      return salesforceDescribe(await ctx.describes.fetch(flowParam(request.params.flow)));
    },
  );

  app.post<{ Params: { version: string; flow: string } }>(
    DROP_IN_URL,
    { onRequest: authenticate, schema: INVOKE_SCHEMA },
    async (request, reply): Promise<DropInResult[]> => {
      checkVersion(request.params.version);
      const flow = flowParam(request.params.flow);
      const key = parseIdempotencyKey(request.headers['idempotency-key']);
      const inputs = parseDropInRequest(request.body, ctx.limits.maxTriggers);
      const describe = await ctx.describes.lookupHeld(flow);
      if (describe.kind === 'missing') throw flowNotFound(flow);

      const outcomes: (TriggerReceipt | DropInInputError)[] = new Array(inputs.length);
      const items: ChunkItem[] = [];
      const traceparent = requestTraceparent(request);
      const positions: number[] = [];
      inputs.forEach((input, index) => {
        const problem = checkDropInInput(input, ctx.limits.inputLimits, describe);
        if (problem) {
          outcomes[index] = problem;
        } else {
          items.push({
            input: input as ChunkItem['input'],
            key: key === undefined ? null : dropInKey(key, index),
            requestId: request.id,
            ...(traceparent ? { traceparent } : {}),
          });
          positions.push(index);
        }
      });
      if (items.length > 0) {
        const receipts = await ctx.commit(flow, items);
        receipts.forEach((receipt, i) => {
          outcomes[positions[i] as number] = receipt;
        });
        if (describe.kind === 'unchecked') {
          ctx.ingestMetrics.validationSkipped.inc({ reason: describe.reason }, items.length);
        }
      }
      reply.code(items.length === inputs.length ? 200 : 400);
      return dropInResults(flow, outcomes);
    },
  );
}

/** A version Salesforce could serve (the rule of SF_API_VERSION); any of them is accepted. */
function checkVersion(version: string): void {
  if (!isApiVersion(version)) {
    throw new IngestError(404, 'NOT_FOUND', 'The requested resource does not exist');
  }
}
