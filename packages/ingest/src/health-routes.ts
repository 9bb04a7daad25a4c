import type { FastifyInstance } from 'fastify';
import type { IngestContext } from './ingest-context.js';

/**
 * `/healthz` (the process answers), `/readyz` (Redis answers a PING, ingest is not shutting down
 * and its QUEUE_PARTITIONS is the fleet's) and `/metrics`. None needs a token: probes and Prometheus scrape them, and they carry no
 * trigger data (metric labels are flows, routes, statuses and reasons).
 */
export function registerHealthRoutes(app: FastifyInstance, ctx: IngestContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  // `flow_dispatcher_ready{role="ingest"}` answers what /readyz does, at each scrape.
  ctx.metrics.trackReadiness('ingest', async () => (await notReadyReason(ctx)) === undefined);

  app.get('/readyz', async (_request, reply) => {
    const reason = await notReadyReason(ctx);
    if (reason === undefined) return { status: 'ready' };
    reply.code(503);
    return { status: 'not ready', reason };
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await ctx.metrics.registry.metrics();
    reply.header('content-type', ctx.metrics.registry.contentType);
    return body;
  });
}

/** Why ingest is not ready, or undefined when it is. */
async function notReadyReason(ctx: IngestContext): Promise<string | undefined> {
  if (ctx.closing()) return 'shutting down';
  if (!(await ctx.redisAnswers())) return 'redis unreachable';
  if (ctx.misconfigured()) return 'QUEUE_PARTITIONS differs from the fleet';
  return undefined;
}
