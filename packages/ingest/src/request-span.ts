import {
  activeTracer,
  contextFromTraceparent,
  type Span,
  SpanKind,
  SpanStatusCode,
  toTraceparent,
} from '@flow-dispatcher/shared';
import type { FastifyRequest } from 'fastify';

/** The span of each request being answered, while tracing is on. */
const spans = new WeakMap<FastifyRequest, Span>();

/**
 * Starts the span of an API request (OpenTelemetry, only while tracing is on): a child of the
 * caller's W3C `traceparent` when it sent one, else a new trace. Nothing is done while tracing
 * is off.
 */
export function startRequestSpan(request: FastifyRequest, route: string): void {
  const tracer = activeTracer();
  if (!tracer) return;
  const span = tracer.startSpan(
    `${request.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'flow_dispatcher.request_id': request.id,
      },
    },
    contextFromTraceparent(request.headers.traceparent),
  );
  spans.set(request, span);
}

/** Ends the request's span with the status answered (once; a no-op without a span). */
export function endRequestSpan(request: FastifyRequest, status: number): void {
  const span = spans.get(request);
  if (!span) return;
  spans.delete(request);
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** The W3C `traceparent` of the request's span, stored with its triggers; undefined untraced. */
export function requestTraceparent(request: FastifyRequest): string | undefined {
  const span = spans.get(request);
  return span ? toTraceparent(span.spanContext()) : undefined;
}
