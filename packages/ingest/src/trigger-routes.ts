import { MAX_KEY_LENGTH } from '@flow-dispatcher/producer';
import { checkInputAgainstDescribe } from '@flow-dispatcher/salesforce';
import { parseTriggerId } from '@flow-dispatcher/shared';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { z } from 'zod';
import {
  type AcceptedBody,
  acceptedSchema,
  cancelResultSchema,
  flowDescribeSchema,
  flowNameSchema,
  flowParamsSchema,
  jsonSchema,
  triggerStatusSchema,
} from './api-schemas.js';
import { flowNotFound, flowParam } from './flow-param.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError } from './ingest-error.js';
import {
  ANY_ROUTE_CODES,
  apiSchema,
  BODY_CODES,
  errorAnswers,
  GUARDED_CODES,
  PARAM_CODES,
  STORE_CODES,
} from './openapi.js';
import { requestTraceparent } from './request-span.js';
import { parseTriggerRequest, triggerBodySchema } from './trigger-request.js';

const TRIGGERS_SCHEMA = apiSchema({
  operationId: 'enqueueTriggers',
  summary: 'Enqueue triggers of one flow',
  description:
    'Stores every trigger or none (any 4xx/5xx stores nothing, except WRITE_FAILED: may or may not have landed). ' +
    'Retry 429 and 503 after Retry-After seconds with the same keys: a key already stored answers duplicate: true.',
  tags: ['triggers'],
  authenticated: true,
  params: flowParamsSchema,
  body: triggerBodySchema,
  answers: {
    202: { description: 'stored; one receipt per trigger', schema: jsonSchema(acceptedSchema) },
    ...errorAnswers([
      ...ANY_ROUTE_CODES,
      ...GUARDED_CODES,
      ...PARAM_CODES,
      ...BODY_CODES,
      'INVALID_FLOW_NAME',
      'TOO_MANY_TRIGGERS',
      'INVALID_INPUT',
      'FLOW_NOT_FOUND',
      ...STORE_CODES,
    ]),
  },
});

const TRIGGER_SCHEMA = apiSchema({
  operationId: 'getTrigger',
  summary: "A trigger's status",
  tags: ['triggers'],
  authenticated: true,
  params: z.strictObject({
    id: z.string().meta({ description: 'a trigger id from a 202 receipt' }),
  }),
  answers: {
    200: { description: "the trigger's state", schema: jsonSchema(triggerStatusSchema) },
    ...errorAnswers([
      ...ANY_ROUTE_CODES,
      ...GUARDED_CODES,
      ...PARAM_CODES,
      'TRIGGER_NOT_FOUND',
      'REDIS_UNAVAILABLE',
    ]),
  },
});

const FLOW_SCHEMA = apiSchema({
  operationId: 'describeFlow',
  summary: "A flow's describe, as ingest checks triggers against it",
  tags: ['flows'],
  authenticated: true,
  params: flowParamsSchema,
  answers: {
    200: { description: "the flow's inputs and outputs", schema: jsonSchema(flowDescribeSchema) },
    ...errorAnswers([
      ...ANY_ROUTE_CODES,
      ...GUARDED_CODES,
      ...PARAM_CODES,
      'INVALID_FLOW_NAME',
      'FLOW_NOT_FOUND',
      'SALESFORCE_UNAVAILABLE',
    ]),
  },
});

const CANCEL_ANSWERS = {
  200: {
    description: 'whether it was cancelled, and its state now',
    schema: jsonSchema(cancelResultSchema),
  },
  ...errorAnswers([
    ...ANY_ROUTE_CODES,
    ...GUARDED_CODES,
    ...PARAM_CODES,
    'TRIGGER_NOT_FOUND',
    'REDIS_UNAVAILABLE',
  ]),
};

const CANCEL_SCHEMA = apiSchema({
  operationId: 'cancelTrigger',
  summary: 'Cancel a trigger not yet sent',
  description:
    'Cancelled unless a worker already holds its chunk (state dispatching) or it is final. A ' +
    'scheduled trigger can be cancelled until about a second before it is due.',
  tags: ['triggers'],
  authenticated: true,
  params: z.strictObject({
    id: z.string().meta({ description: 'a trigger id from a 202 receipt' }),
  }),
  answers: CANCEL_ANSWERS,
});

const CANCEL_BY_KEY_SCHEMA = apiSchema({
  operationId: 'cancelTriggerByKey',
  summary: 'Cancel the trigger stored under an idempotency key',
  tags: ['triggers'],
  authenticated: true,
  params: z.strictObject({
    flow: flowNameSchema,
    key: z.string().meta({ description: 'the idempotency key it was sent with' }),
  }),
  answers: CANCEL_ANSWERS,
});

/** The native API: enqueue triggers, read or cancel a trigger, read a flow's describe. */
export function registerTriggerRoutes(
  app: FastifyInstance,
  ctx: IngestContext,
  authenticate: onRequestHookHandler,
): void {
  app.post<{ Params: { flow: string } }>(
    '/v1/flows/:flow/triggers',
    { onRequest: authenticate, schema: TRIGGERS_SCHEMA },
    async (request, reply): Promise<AcceptedBody> => {
      const flow = flowParam(request.params.flow);
      const items = parseTriggerRequest(request.body, ctx.limits);
      const traceparent = requestTraceparent(request);
      for (const item of items) {
        item.requestId = request.id;
        if (traceparent) item.traceparent = traceparent;
      }
      const describe = await ctx.describes.lookupHeld(flow);
      if (describe.kind === 'missing') throw flowNotFound(flow);
      if (describe.kind === 'ready') {
        items.forEach((item, index) => {
          const problem = checkInputAgainstDescribe(item.input, describe.describe);
          if (problem) {
            throw new IngestError(
              400,
              'INVALID_INPUT',
              `triggers[${index}].input: ${problem.message}`,
              {
                field: problem.field,
              },
            );
          }
        });
      }
      const receipts = await ctx.commit(flow, items);
      if (describe.kind === 'unchecked') {
        ctx.ingestMetrics.validationSkipped.inc({ reason: describe.reason }, items.length);
      }
      reply.code(202);
      return {
        accepted: receipts.map(({ id, key, duplicate }) => ({ id, key, duplicate })),
      };
    },
  );

  /** A status or a cancel needs Redis: a 503 the client retries, not a wait, while it is away. */
  const requireRedis = () => {
    if (!ctx.redisReady()) {
      throw new IngestError(503, 'REDIS_UNAVAILABLE', 'Redis is unreachable; try again later', {
        retryAfterSeconds: 1,
      });
    }
  };

  app.get<{ Params: { id: string } }>(
    '/v1/triggers/:id',
    { onRequest: authenticate, schema: TRIGGER_SCHEMA },
    async (request) => {
      const id = request.params.id;
      if (parseTriggerId(id) === undefined) throw triggerNotFound();
      requireRedis();
      const status = await ctx.producer.getTrigger(id);
      if (!status) throw triggerNotFound();
      return status;
    },
  );

  const cancel = async (target: string | { flow: string; key: string }) => {
    requireRedis();
    const result = await ctx.producer.cancel(target);
    if (!result) throw triggerNotFound();
    return result;
  };

  // README, "Cancelling": 200 {id, cancelled, state}; 404 TRIGGER_NOT_FOUND.
  app.delete<{ Params: { id: string } }>(
    '/v1/triggers/:id',
    { onRequest: authenticate, schema: CANCEL_SCHEMA },
    async (request) => {
      const id = request.params.id;
      if (parseTriggerId(id) === undefined) throw triggerNotFound();
      return cancel(id);
    },
  );

  app.delete<{ Params: { flow: string; key: string } }>(
    '/v1/flows/:flow/keys/:key',
    { onRequest: authenticate, schema: CANCEL_BY_KEY_SCHEMA },
    async (request) => {
      const flow = flowParam(request.params.flow);
      const key = request.params.key;
      if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw triggerNotFound();
      return cancel({ flow, key });
    },
  );

  app.get<{ Params: { flow: string } }>(
    '/v1/flows/:flow',
    { onRequest: authenticate, schema: FLOW_SCHEMA },
    async (request) => ctx.describes.fetch(flowParam(request.params.flow)),
  );
}

function triggerNotFound(): IngestError {
  return new IngestError(
    404,
    'TRIGGER_NOT_FOUND',
    'no trigger has this id (it is not one of ours, or its record has expired)',
  );
}
