import type { ChunkItem, TriggerReceipt } from '@flow-dispatcher/producer';
import { isApiVersion } from '@flow-dispatcher/shared';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import {
  checkDropInInput,
  type DropInInputError,
  dropInKey,
  dropInResults,
  parseDropInRequest,
  parseIdempotencyKey,
} from './drop-in-request.js';
import { flowNotFound, flowParam } from './flow-param.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError } from './ingest-error.js';
import { requestTraceparent } from './request-span.js';

/**
 * `POST /services/data/v{version}/actions/custom/flow/{flow}`: Salesforce's own invocable-action
 * call, so a backend that calls Salesforce today changes only its base URL and token. A problem
 * with the request as a whole stores nothing and is answered `[{"errorCode","message"}]`; a bad
 * input fails that element only (`isSuccess: false`), the others are stored, and the answer is
 * 400 when any element failed, as Salesforce does. `outputValues` holds `{triggerId, duplicate}`.
 */
export function registerDropInRoute(
  app: FastifyInstance,
  ctx: IngestContext,
  authenticate: onRequestHookHandler,
): void {
  app.post<{ Params: { version: string; flow: string } }>(
    '/services/data/v:version/actions/custom/flow/:flow',
    { onRequest: authenticate },
    async (request, reply) => {
      // A version Salesforce could serve (the rule of SF_API_VERSION); any of them is accepted.
      if (!isApiVersion(request.params.version)) {
        throw new IngestError(404, 'NOT_FOUND', 'The requested resource does not exist');
      }
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
