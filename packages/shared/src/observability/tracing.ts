import {
  type Attributes,
  type Context,
  type Link,
  context as otelContext,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * OpenTelemetry tracing (docs/design.md, "Request ids and trace context"). Off unless the standard
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set: then the worker
 * and ingest processes register an SDK exporting OTLP/HTTP (JSON), configured by the standard
 * `OTEL_*` variables. Code on the hot path asks `activeTracer()` first and does nothing more
 * (no span, no context serialisation) while it answers undefined.
 *
 * A trigger's trace context is stored with it in its chunk job (`tp`: W3C `traceparent` values,
 * as runs of triggers), so the Salesforce call that carries it joins its trace: as a child when all the
 * call's triggers share one context, else as a new trace with a span link to each.
 */

const TRACER_NAME = 'flow-dispatcher';

/** The no-op provider the API answers while no SDK is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
let cached: { provider: unknown; tracer: Tracer } | undefined;

/**
 * The tracer to use, or undefined while no tracing SDK is registered (tracing off): the check
 * costs two property reads, no allocation.
 */
export function activeTracer(): Tracer | undefined {
  const global = trace.getTracerProvider();
  const provider = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  if (provider === NOOP_PROVIDER) return undefined;
  if (cached?.provider !== provider) {
    cached = { provider, tracer: provider.getTracer(TRACER_NAME) };
  }
  return cached.tracer;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A span's context as a W3C `traceparent` header value. */
export function toTraceparent(context: SpanContext): string {
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${context.traceId}-${context.spanId}-${flags}`;
}

/** The remote span context a W3C `traceparent` names, or undefined when it is not a valid one. */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const [, traceId = '', spanId = '', flags = '00'] = match;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}

/**
 * Starts a span for work done on behalf of triggers of several traces (`traceparents`, one per
 * trigger, undefined where it has none): a child of their context when they all share one, else
 * a new trace linked to each distinct context. Undefined while tracing is off.
 */
export function startLinkedSpan(
  name: string,
  traceparents: Iterable<string | undefined>,
  attributes: Attributes,
  kind: SpanKind = SpanKind.INTERNAL,
): Span | undefined {
  const tracer = activeTracer();
  if (!tracer) return undefined;
  const distinct = new Set<string>();
  for (const traceparent of traceparents) if (traceparent) distinct.add(traceparent);
  const contexts: SpanContext[] = [];
  for (const traceparent of distinct) {
    const context = parseTraceparent(traceparent);
    if (context) contexts.push(context);
  }
  if (contexts.length === 1 && contexts[0]) {
    const parent: Context = trace.setSpanContext(ROOT_CONTEXT, contexts[0]);
    return tracer.startSpan(name, { kind, attributes }, parent);
  }
  const links: Link[] = contexts.map((context) => ({ context }));
  return tracer.startSpan(name, { kind, attributes, links, root: true });
}

export { otelContext, type Span, SpanKind, SpanStatusCode };

/** The parent context a W3C `traceparent` header names, or the empty one (a new trace). */
export function contextFromTraceparent(value: unknown): Context {
  const remote = parseTraceparent(value);
  return remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
}

/** What `startTracing` started: `shutdown` flushes the spans still buffered. */
export interface TracingHandle {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/** Whether the environment asks for tracing (an OTLP endpoint set, the SDK not disabled). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return false;
  return Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim(),
  );
}

/**
 * Registers the tracing SDK when the environment asks for it (see `tracingRequested`): spans
 * batched and exported over OTLP/HTTP (JSON) to the standard endpoint, the service named by
 * `OTEL_SERVICE_NAME` or else `serviceName`. The SDK is loaded only then.
 */
export async function startTracing(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TracingHandle> {
  if (!tracingRequested(env)) return { enabled: false, shutdown: async () => {} };
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, resources] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': serviceName }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  trace.setGlobalTracerProvider(provider);
  return {
    enabled: true,
    shutdown: async () => {
      await provider.shutdown().catch(() => {});
      trace.disable();
    },
  };
}
