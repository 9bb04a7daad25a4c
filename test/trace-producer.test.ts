import { Producer } from '@flow-dispatcher/producer';
import { RedisKeys } from '@flow-dispatcher/shared';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

const FLOW = 'Welcome_SMS';

/**
 * The library traces when its application has registered an OpenTelemetry SDK, and not at all
 * otherwise: `trigger()` and `triggerMany()` get a span, the chunk write a child of it, and the
 * trigger's chunk job stores the write's `traceparent` (read back from Redis).
 */
describe('producer library tracing', () => {
  let prefix: string;
  let producer: Producer;
  let redis: Redis;

  beforeEach(() => {
    prefix = uniquePrefix('trace-lib');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    redis = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    trace.disable();
    await producer.close();
    redis.disconnect();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  async function jobData(id: string): Promise<Record<string, unknown>> {
    const chunkId = id.split('.')[1] as string;
    const raw = await redis.hget(new RedisKeys(prefix).job(FLOW, chunkId), 'data');
    return JSON.parse(raw ?? 'null');
  }

  it('stores no trace context while no SDK is registered', async () => {
    const receipt = await producer.trigger(FLOW, { IndividualId: '0PK000000000001' });
    expect(await jobData(receipt.id)).not.toHaveProperty('tp');
  });

  it('spans trigger() and its chunk write, and stores the write as the trigger context', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    const receipt = await producer.trigger(FLOW, { IndividualId: '0PK000000000001' });
    const [many] = await producer.triggerMany(FLOW, [{ IndividualId: '0PK000000000002' }]);
    const spans = exporter.getFinishedSpans();
    const call = spans.find((span) => span.name === 'flow-dispatcher trigger');
    const writes = spans.filter((span) => span.name === 'flow-dispatcher chunk write');
    const batch = spans.find((span) => span.name === 'flow-dispatcher triggerMany');
    expect(call?.attributes).toMatchObject({
      'flow_dispatcher.flow': FLOW,
      'flow_dispatcher.trigger_id': receipt.id,
    });
    expect(batch?.attributes).toMatchObject({ 'flow_dispatcher.triggers': 1 });
    const [write, manyWrite] = writes;
    expect(write?.parentSpanContext?.spanId).toBe(call?.spanContext().spanId);
    expect(write?.spanContext().traceId).toBe(call?.spanContext().traceId);
    expect(manyWrite?.parentSpanContext?.spanId).toBe(batch?.spanContext().spanId);
    expect(write?.attributes['flow_dispatcher.chunk_id']).toBe(receipt.id.split('.')[1]);
    const { traceId, spanId } = write?.spanContext() ?? { traceId: '', spanId: '' };
    expect((await jobData(receipt.id)).tp).toEqual([[`00-${traceId}-${spanId}-01`, 1]]);
    const manyContext = manyWrite?.spanContext();
    expect((await jobData(many?.id ?? '')).tp).toEqual([
      [`00-${manyContext?.traceId}-${manyContext?.spanId}-01`, 1],
    ]);
  });
});
