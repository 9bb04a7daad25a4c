import { checkInputAgainstDescribe } from '@flow-dispatcher/salesforce';
import { parseTriggerId } from '@flow-dispatcher/shared';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { flowNotFound, flowParam } from './flow-param.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError } from './ingest-error.js';
import { requestTraceparent } from './request-span.js';
import { parseTriggerRequest } from './trigger-request.js';

/** The native API: enqueue triggers, read a trigger's status, read a flow's describe. */
export function registerTriggerRoutes(
  app: FastifyInstance,
  ctx: IngestContext,
  authenticate: onRequestHookHandler,
): void {
  app.post<{ Params: { flow: string } }>(
    '/v1/flows/:flow/triggers',
    { onRequest: authenticate },
    async (request, reply) => {
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

  app.get<{ Params: { id: string } }>(
    '/v1/triggers/:id',
    { onRequest: authenticate },
    async (request) => {
      const id = request.params.id;
      if (parseTriggerId(id) === undefined) throw triggerNotFound();
      if (!ctx.redisReady()) {
        throw new IngestError(503, 'REDIS_UNAVAILABLE', 'Redis is unreachable; try again later', {
          retryAfterSeconds: 1,
        });
      }
      const status = await ctx.producer.getTrigger(id);
      if (!status) throw triggerNotFound();
      return status;
    },
  );

  app.get<{ Params: { flow: string } }>(
    '/v1/flows/:flow',
    { onRequest: authenticate },
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
