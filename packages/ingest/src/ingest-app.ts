import { randomUUID } from 'node:crypto';
import type { Logger } from '@flow-dispatcher/shared';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onRequestHookHandler,
} from 'fastify';
import { limitBody } from './body-limit.js';
import { toSalesforceError } from './drop-in-request.js';
import { registerDropInRoute } from './drop-in-route.js';
import { toIngestError } from './framework-errors.js';
import { registerHealthRoutes } from './health-routes.js';
import type { IngestContext } from './ingest-context.js';
import { IngestError } from './ingest-error.js';
import { parseJsonBody } from './json-body.js';
import { ANY_ROUTE_CODES, apiSchema, collectOpenApi, errorAnswers } from './openapi.js';
import { endRequestSpan, startRequestSpan } from './request-span.js';
import { registerTriggerRoutes } from './trigger-routes.js';

/** Route patterns → the `route` label of the request metrics (bounded). */
const ROUTE_LABELS: Record<string, string> = {
  '/v1/flows/:flow/triggers': 'triggers',
  '/services/data/v:version/actions/custom/flow/:flow': 'drop_in',
  '/v1/triggers/:id': 'trigger_status',
  '/v1/flows/:flow': 'flow_describe',
  '/healthz': 'health',
  '/readyz': 'health',
  '/metrics': 'metrics',
  '/openapi.json': 'openapi',
};

const OPENAPI_SCHEMA = apiSchema({
  operationId: 'openapi',
  summary: 'This document (OpenAPI 3.1)',
  tags: ['health'],
  authenticated: false,
  answers: {
    200: { description: 'the OpenAPI document of ingest', schema: { type: 'object' } },
    ...errorAnswers([...ANY_ROUTE_CODES, 'SHUTTING_DOWN']),
  },
});

export interface IngestAppOptions {
  ctx: IngestContext;
  /** INGEST_MAX_BODY_BYTES: larger bodies get 413. */
  maxBodyBytes: number;
  /** `Retry-After` of the 503 answered while shutting down. */
  retryAfterSeconds: number;
  logger: Logger;
  /**
   * Which routes: `all` on one port; `api` (the API, `/healthz`, `/readyz`) and `admin`
   * (`/metrics`, `/healthz`, `/readyz`, and what `extend` mounts) when METRICS_PORT gives ingest
   * a second port, so that an Ingress in front of the API never exposes the others.
   * @defaultValue 'all'
   */
  serves?: 'all' | 'api' | 'admin';
}

/**
 * The fastify app of ingest, built but not listening: JSON only, bodies bounded, every error as
 * `{"error":{"code","message"}}` (Salesforce's shape under `/services/`), request metrics by
 * route, 503 once shutting down, and the routes (native API, drop-in, health). Everything it
 * stores or reads goes through `ctx`.
 */
export function buildIngestApp({
  ctx,
  maxBodyBytes,
  retryAfterSeconds,
  logger,
  serves = 'all',
}: IngestAppOptions): FastifyInstance {
  const { ingestMetrics } = ctx;
  const app = Fastify({
    logger: false,
    // The real limit is enforced by limitBody (which reads an oversized body to its end so the
    // client gets its 413); fastify's own limit only stops bodies too large even to drain.
    bodyLimit: drainLimitBytes(maxBodyBytes),
    // Long enough that a 300-character flow name reaches our check and gets its 400.
    routerOptions: { maxParamLength: 1_000 },
    // Requests arriving while closing get our 503, not fastify's body.
    return503OnClosing: false,
    frameworkErrors: (err, request, reply) => {
      // Refused before routing: no hook runs, so the request's line is written here.
      reply.raw.once('finish', () => logRequest(request, reply, 'unmatched'));
      return sendError(request, reply, toIngestError(err));
    },
    // The request id: the caller's `x-request-id` when it is a plausible id, else a new one.
    requestIdHeader: false,
    genReqId: (raw) => requestIdOf(raw.headers['x-request-id']),
  });
  // Routes carry JSON Schemas for the OpenAPI document (openapi.ts), but zod validates, with
  // ingest's own codes and messages, and answers are sent as the handlers build them.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  const openApiDocument = collectOpenApi(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.setErrorHandler((err, request, reply) => {
    const ingestError = toIngestError(err);
    // Only the unexpected is logged here: Redis outages, failed writes and describe failures
    // are logged once where they are noticed, and client errors are the client's to read.
    if (ingestError.code === 'INTERNAL') {
      logger.warn(
        {
          route: routeLabel(request),
          code: ingestError.code,
          err: errorSummary(ingestError.cause ?? err),
        },
        'request failed',
      );
    }
    return sendError(request, reply, ingestError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new IngestError(404, 'NOT_FOUND', `no such endpoint: ${request.method} on this path`),
    ),
  );
  app.addHook('onRequest', async (request, reply) => {
    ingestMetrics.inFlight.inc();
    const route = routeLabel(request);
    if (route !== 'health' && route !== 'metrics') {
      startRequestSpan(request, request.routeOptions.url ?? 'unmatched');
    }
    // 'close' comes once per response, answered or abandoned by the client.
    reply.raw.once('close', () => {
      ingestMetrics.inFlight.dec();
      endRequestSpan(request, reply.statusCode);
    });
    if (ctx.closing() && route !== 'health') {
      reply.header('connection', 'close');
      throw new IngestError(503, 'SHUTTING_DOWN', 'ingest is shutting down; retry', {
        retryAfterSeconds,
      });
    }
  });
  app.addHook('preParsing', async (request, _reply, payload) =>
    request.method === 'GET' || request.method === 'HEAD'
      ? payload
      : limitBody(
          payload,
          Number(request.headers['content-length'] ?? Number.NaN),
          maxBodyBytes,
          drainLimitBytes(maxBodyBytes),
        ),
  );
  // Answers sent while closing end their connection, so the server closes without waiting for
  // keep-alive timeouts. So do answers sent before the body had arrived (a 415 or 401 for a
  // large body): the rest of it would otherwise sit in the socket ahead of the connection's next
  // request, which would wait until the keep-alive timeout cut the connection.
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    if (ctx.closing() || !request.raw.complete) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = routeLabel(request);
    ingestMetrics.requests.inc({ route, status: String(reply.statusCode) });
    ingestMetrics.requestDuration.observe({ route }, reply.elapsedTime / 1_000);
    logRequest(request, reply, route);
  });

  /**
   * One line per request: what was asked and answered, never a body, header or token. Probes and
   * scrapes are logged at debug only, so they do not drown the API's requests.
   */
  function logRequest(request: FastifyRequest, reply: FastifyReply, route: string): void {
    const quiet = route === 'health' || route === 'metrics';
    const elapsed = reply.elapsedTime;
    logger[quiet ? 'debug' : 'info'](
      {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions?.url ?? 'unmatched',
        status: reply.statusCode,
        ...(Number.isFinite(elapsed) ? { durationMs: Math.round(elapsed * 10) / 10 } : {}),
      },
      'request',
    );
  }

  const authenticate: onRequestHookHandler = async (request) => {
    if (ctx.tokens && !ctx.tokens.accepts(request.headers.authorization)) {
      throw new IngestError(401, 'UNAUTHORIZED', 'a valid bearer token is required');
    }
  };
  if (serves !== 'admin') {
    registerTriggerRoutes(app, ctx, authenticate);
    registerDropInRoute(app, ctx, authenticate);
    app.get('/openapi.json', { schema: OPENAPI_SCHEMA }, async () => openApiDocument());
  }
  registerHealthRoutes(app, ctx, { metrics: serves !== 'api' });
  return app;
}

/** An incoming request id is kept when it is 1 to 128 of these characters (no spaces, no quotes). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of a request: the caller's `x-request-id` when it is a valid one, else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

/** Oversized bodies are read and discarded up to this size, so the client can read the 413. */
function drainLimitBytes(maxBodyBytes: number): number {
  return Math.max(4 * maxBodyBytes, 16 * 1024 * 1024);
}

function routeLabel(request: FastifyRequest): string {
  const url = request.routeOptions.url;
  return (url && ROUTE_LABELS[url]) || 'unmatched';
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: IngestError) {
  // Set here too: an answer to a request refused before routing skips the onSend hook.
  reply.header('x-request-id', request.id);
  if (err.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(err.retryAfterSeconds));
  }
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  if (request.url.startsWith('/services/')) {
    const salesforce = toSalesforceError(err);
    return reply.code(salesforce.status).send(salesforce.body);
  }
  return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
}

export function errorSummary(err: unknown): { name?: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}
