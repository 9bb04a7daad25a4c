import type { FastifyInstance } from 'fastify';
import type { IngestContext } from './ingest-context.js';

/**
 * `/healthz` (the process answers), `/readyz` (Redis answers a PING, ingest is not shutting down
 * and its QUEUE_PARTITIONS is the fleet's) and, unless `metrics` is false (the API port when
 * METRICS_PORT gives ingest a second one), `/metrics`. None needs a token: probes and Prometheus
 * scrape them, and they carry no trigger data (metric labels are flows, routes, statuses and
 * reasons).
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  ctx: IngestContext,
  { metrics }: { metrics: boolean },
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (ctx.closing()) {
      reply.code(503);
      return { status: 'not ready', reason: 'shutting down' };
    }
    if (!(await ctx.redisAnswers())) {
      reply.code(503);
      return { status: 'not ready', reason: 'redis unreachable' };
    }
    if (ctx.misconfigured()) {
      reply.code(503);
      return { status: 'not ready', reason: 'QUEUE_PARTITIONS differs from the fleet' };
    }
    return { status: 'ready' };
  });

  if (!metrics) return;
  app.get('/metrics', async (_request, reply) => {
    const body = await ctx.metrics.registry.metrics();
    reply.header('content-type', ctx.metrics.registry.contentType);
    return body;
  });
}
