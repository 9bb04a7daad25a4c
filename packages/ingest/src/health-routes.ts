import type { FastifyInstance } from 'fastify';
import { healthSchema, jsonSchema, notReadySchema, readySchema } from './api-schemas.js';
import type { IngestContext } from './ingest-context.js';
import { ANY_ROUTE_CODES, apiSchema, errorAnswers } from './openapi.js';

const HEALTH_SCHEMA = apiSchema({
  operationId: 'healthz',
  summary: 'Liveness: the process answers',
  tags: ['health'],
  authenticated: false,
  answers: {
    200: { description: 'alive', schema: jsonSchema(healthSchema) },
    ...errorAnswers(ANY_ROUTE_CODES),
  },
});

const READY_SCHEMA = apiSchema({
  operationId: 'readyz',
  summary: "Readiness: Redis answers, not shutting down, QUEUE_PARTITIONS is the fleet's",
  tags: ['health'],
  authenticated: false,
  answers: {
    200: { description: 'ready', schema: jsonSchema(readySchema) },
    ...errorAnswers(ANY_ROUTE_CODES),
    503: { description: 'not ready, and why', schema: jsonSchema(notReadySchema) },
  },
});

const METRICS_SCHEMA = apiSchema({
  operationId: 'metrics',
  summary: 'Prometheus metrics (docs/metrics.md)',
  tags: ['health'],
  authenticated: false,
  answers: {
    200: {
      description: 'the Prometheus text exposition format',
      schema: { type: 'string' },
      mediaType: 'text/plain',
    },
    ...errorAnswers([...ANY_ROUTE_CODES, 'SHUTTING_DOWN']),
  },
});

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
  app.get('/healthz', { schema: HEALTH_SCHEMA }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', { schema: READY_SCHEMA }, async (_request, reply) => {
    const reason = await notReadyReason(ctx);
    if (reason === undefined) return { status: 'ready' };
    reply.code(503);
    return { status: 'not ready', reason };
  });

  if (!metrics) return;
  app.get('/metrics', { schema: METRICS_SCHEMA }, async (_request, reply) => {
    const body = await ctx.metrics.registry.metrics();
    reply.header('content-type', ctx.metrics.registry.contentType);
    return body;
  });
}

/**
 * Why ingest is not ready, or undefined when it is: what `/readyz` answers, and what
 * `flow_dispatcher_ready{role="ingest"}` says at each scrape (registered by ingest-server.ts).
 */
export async function notReadyReason(ctx: IngestContext): Promise<string | undefined> {
  if (ctx.closing()) return 'shutting down';
  if (!(await ctx.redisAnswers())) return 'redis unreachable';
  if (ctx.misconfigured()) return 'QUEUE_PARTITIONS differs from the fleet';
  return undefined;
}
