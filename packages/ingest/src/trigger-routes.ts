import { MAX_KEY_LENGTH } from '@flow-dispatcher/producer';
import { checkInputAgainstDescribe } from '@flow-dispatcher/salesforce';
import { parseTriggerId } from '@flow-dispatcher/shared';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { flowNotFound, flowParam } from './flow-param.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError } from './ingest-error.js';
import { parseTriggerRequest } from './trigger-request.js';

/** The native API: enqueue triggers, read or cancel a trigger, read a flow's describe. */
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

  const cancel = async (target: string | { flow: string; key: string }) => {
    if (!ctx.redisReady()) {
      throw new IngestError(503, 'REDIS_UNAVAILABLE', 'Redis is unreachable; try again later', {
        retryAfterSeconds: 1,
      });
    }
    const result = await ctx.producer.cancel(target);
    if (!result) throw triggerNotFound();
    return result;
  };

  // README, "Cancelling": 200 {id, cancelled, state}; 404 TRIGGER_NOT_FOUND.
  app.delete<{ Params: { id: string } }>(
    '/v1/triggers/:id',
    { onRequest: authenticate },
    async (request) => {
      const id = request.params.id;
      if (parseTriggerId(id) === undefined) throw triggerNotFound();
      return cancel(id);
    },
  );

  app.delete<{ Params: { flow: string; key: string } }>(
    '/v1/flows/:flow/keys/:key',
    { onRequest: authenticate },
    async (request) => {
      const flow = flowParam(request.params.flow);
      const key = request.params.key;
      if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw triggerNotFound();
      return cancel({ flow, key });
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
