import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activeTracer,
  parseTraceparent,
  startLinkedSpan,
  toTraceparent,
  tracingRequested,
} from './tracing.js';

const A = `00-${'a'.repeat(32)}-${'1'.repeat(16)}-01`;
const B = `00-${'b'.repeat(32)}-${'2'.repeat(16)}-01`;

describe('tracing', () => {
  afterEach(() => trace.disable());

  it('is off without an OTLP endpoint: no tracer, no span', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(
      tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }),
    ).toBe(true);
    expect(
      tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBe(false);
    expect(activeTracer()).toBeUndefined();
    expect(startLinkedSpan('x', [A], {})).toBeUndefined();
  });

  it('parses and writes W3C traceparent values, refusing malformed and all-zero ones', () => {
    const context = parseTraceparent(A);
    expect(context).toEqual({
      traceId: 'a'.repeat(32),
      spanId: '1'.repeat(16),
      traceFlags: 1,
      isRemote: true,
    });
    expect(toTraceparent(context ?? ({} as never))).toBe(A);
    for (const bad of [
      undefined,
      '',
      'garbage',
      `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`,
      `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01`,
      `00-${'a'.repeat(31)}-${'1'.repeat(16)}-01`,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });

  it('continues the one trace its triggers share, and links to each of several', () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    startLinkedSpan('one', [A, undefined, A], { n: 1 })?.end();
    startLinkedSpan('several', [A, B, A], { n: 2 })?.end();
    const [one, several] = exporter.getFinishedSpans();
    expect(one?.spanContext().traceId).toBe('a'.repeat(32));
    expect(one?.parentSpanContext?.spanId).toBe('1'.repeat(16));
    expect(one?.links).toEqual([]);
    expect(several?.spanContext().traceId).not.toBe('a'.repeat(32));
    expect(several?.parentSpanContext).toBeUndefined();
    expect(several?.links.map((link) => link.context.traceId)).toEqual([
      'a'.repeat(32),
      'b'.repeat(32),
    ]);
  });
});
