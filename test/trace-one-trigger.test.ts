import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { RedisKeys } from '@flow-dispatcher/shared';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, startIngestProcess, TOKEN } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const FLOW = 'Welcome_SMS';
const PERSON = '0PKtrace00000000042';
const PHONE = '+15550100777';

/** The JSON log lines of a process that match `pattern`. */
function logLines(process: CliProcess, pattern: RegExp): Record<string, unknown>[] {
  return process.lines.filter((line) => pattern.test(line)).map((line) => JSON.parse(line));
}

interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean };

function value(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.boolValue;
}

function attributeMap(list: { key: string; value: AnyValue }[] = []): Record<string, unknown> {
  return Object.fromEntries(list.map((a) => [a.key, value(a.value)]));
}

async function body(request: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  const raw = Buffer.concat(parts);
  return request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/**
 * An OTLP/HTTP trace receiver in this process: it decodes the JSON export requests
 * (`POST /v1/traces`) of the SDK's OTLP/HTTP exporter and keeps every span.
 */
async function startOtlpReceiver() {
  const spans: ExportedSpan[] = [];
  const paths: string[] = [];
  const server = createServer(async (request, response) => {
    paths.push(`${request.method} ${request.url} ${request.headers['content-type']}`);
    // biome-ignore lint/suspicious/noExplicitAny: the OTLP JSON export, decoded field by field
    const exported: any = JSON.parse((await body(request)).toString('utf8'));
    for (const resourceSpans of exported.resourceSpans ?? []) {
      const service = String(attributeMap(resourceSpans.resource?.attributes)['service.name']);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          spans.push({
            service,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            attributes: attributeMap(span.attributes),
            links: (span.links ?? []).map((l: { traceId: string; spanId: string }) => ({
              traceId: l.traceId,
              spanId: l.spanId,
            })),
          });
        }
      }
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    paths,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const hex = (length: number, digit: string) => digit.repeat(length);

/**
 * An operator follows one trigger from its request to its Salesforce call by grepping ids: ingest
 * logs each request with its request id and echoes it, and the worker's line for the call that
 * carried the trigger names the request id, the trigger id and the chunk id (never an input).
 * Real `flow-dispatcher ingest` and `worker` processes, the simulator as Salesforce.
 */
describe('following one trigger: request id through ingest and worker logs', () => {
  let prefix: string;
  let sim: Simulator;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('trace');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  function env(extra: Record<string, string> = {}) {
    return fleetEnv({
      redisUrl: TEST_REDIS_URL,
      prefix,
      simulatorUrl: sim.url,
      extra: { INGEST_PORT: '0', INGEST_TOKENS: TOKEN, ...extra },
    });
  }

  async function ingestOnly(extra: Record<string, string> = {}) {
    const ingest = await startIngestProcess(env(extra));
    cleanup.push(() => ingest.process.kill());
    const client = new IngestClient(ingest.url);
    cleanup.push(() => client.close());
    return { ingest: ingest.process, client };
  }

  async function worker(extra: Record<string, string> = {}) {
    const process = await startWorkerProcess(env(extra));
    cleanup.push(() => process.kill());
    return process;
  }

  /** A chunk job's data as stored (before a worker takes it). */
  async function chunkData(chunkId: string): Promise<Record<string, unknown>> {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const raw = await redis.hget(new RedisKeys(prefix).job(FLOW, chunkId), 'data');
      return JSON.parse(raw ?? 'null');
    } finally {
      redis.disconnect();
    }
  }

  it('greps one request id from the ingest line to the worker line naming its trigger and chunk', async () => {
    const { ingest, client } = await ingestOnly();
    const requestId = `req-${prefix}`;
    const answer = await client.post(
      `/v1/flows/${FLOW}/triggers`,
      { triggers: [{ input: { IndividualId: PERSON, TelephoneNumber: PHONE } }] },
      { 'x-request-id': requestId },
    );
    expect(answer.status).toBe(202);
    expect(answer.headers['x-request-id']).toBe(requestId);
    const id: string = answer.json.accepted[0].id;
    const chunkId = id.split('.')[1] as string;
    // Stored with the trigger: its request id; no trace context while tracing is off.
    const data = await chunkData(chunkId);
    expect(data.req).toEqual([[requestId, 1]]);
    expect(data).not.toHaveProperty('tp');

    // The worker's line for the call, found by the request id alone.
    const processes = { ingest, worker: await worker() };
    const line = await processes.worker.waitForLine(new RegExp(requestId));
    const call = JSON.parse(line);
    expect(call).toMatchObject({
      level: 'info',
      msg: 'call settled',
      flow: FLOW,
      inputs: 1,
      status: 200,
      succeeded: 1,
      attempt: 1,
      triggers: [id],
      chunks: [chunkId],
      requests: [requestId],
    });
    expect(sim.calls()).toHaveLength(1);

    // Ingest's line for the request: route pattern, status, duration; never the body or token.
    const [request] = logLines(ingest, new RegExp(requestId));
    expect(request).toMatchObject({
      level: 'info',
      msg: 'request',
      requestId,
      method: 'POST',
      route: '/v1/flows/:flow/triggers',
      status: 202,
    });
    expect(request?.durationMs).toEqual(expect.any(Number));
    for (const output of [ingest.output, processes.worker.output]) {
      expect(output).not.toContain(PERSON);
      expect(output).not.toContain('5550100777');
      expect(output).not.toContain(TOKEN);
    }
  });

  it('makes up a request id when the caller sends none or an unusable one, and echoes it', async () => {
    const { ingest, client } = await ingestOnly();
    const none = await client.post(`/v1/flows/${FLOW}/triggers`, {
      triggers: [{ input: { IndividualId: PERSON } }],
    });
    const bad = await client.post(
      `/v1/flows/${FLOW}/triggers`,
      { triggers: [{ input: { IndividualId: PERSON } }] },
      { 'x-request-id': 'has spaces "and quotes"' },
    );
    const missing = await client.get('/v1/triggers/nope');
    // Refused before routing (a broken percent-encoding): still answered with an id.
    const broken = await client.post('/v1/flows/%zz/triggers', { triggers: [] });
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const ids = [none, bad, missing, broken].map((answer) =>
      String(answer.headers['x-request-id']),
    );
    for (const id of ids) expect(id).toMatch(uuid);
    expect(new Set(ids).size).toBe(4);
    expect(missing.status).toBe(404);
    expect(broken.status).toBe(400);
    await ingest.waitForLine(new RegExp(ids[2] as string));
    expect(logLines(ingest, new RegExp(ids[2] as string))).toMatchObject([
      { msg: 'request', method: 'GET', route: '/v1/triggers/:id', status: 404 },
    ]);
    await ingest.waitForLine(new RegExp(ids[3] as string));
    expect(logLines(ingest, new RegExp(ids[3] as string))).toMatchObject([
      { msg: 'request', method: 'POST', route: 'unmatched', status: 400 },
    ]);
    expect(ingest.output).not.toContain('has spaces');
  });

  it('GET /v1/triggers/{id} tells when it was enqueued, last attempted and settled', async () => {
    const { client } = await ingestOnly();
    const before = Date.now();
    const answer = await client.trigger(FLOW, { input: { IndividualId: PERSON } });
    const after = Date.now();
    const id: string = answer.json.accepted[0].id;
    const queued = (await client.get(`/v1/triggers/${id}`)).json;
    expect(queued).toMatchObject({ state: 'queued', lastAttemptAt: null, settledAt: null });
    const enqueuedAt = Date.parse(queued.enqueuedAt);
    expect(enqueuedAt).toBeGreaterThanOrEqual(before);
    expect(enqueuedAt).toBeLessThanOrEqual(after);

    // Its first call fails transiently: attempted, not settled.
    sim.configure({ transientInputRate: 1 });
    await worker({ DISPATCH_RETRY_BASE_MS: '2000', DISPATCH_RETRY_MAX_MS: '2000' });
    const retrying = await waitFor(
      async () => {
        const status = (await client.get(`/v1/triggers/${id}`)).json;
        return status?.state === 'retrying' ? status : undefined;
      },
      { message: 'the trigger to be retrying' },
    );
    const firstCall = sim.calls()[0];
    expect(firstCall).toBeDefined();
    expect(retrying).toMatchObject({ attempts: 1, settledAt: null, enqueuedAt: queued.enqueuedAt });
    const firstAttempt = Date.parse(retrying.lastAttemptAt);
    expect(firstAttempt).toBeGreaterThanOrEqual(enqueuedAt);
    expect(firstAttempt).toBeLessThanOrEqual(Date.now());

    // The retry succeeds: settled at its answer, which is its last attempt.
    sim.configure({ transientInputRate: 0 });
    const succeeded = await waitFor(
      async () => {
        const status = (await client.get(`/v1/triggers/${id}`)).json;
        return status?.state === 'succeeded' ? status : undefined;
      },
      { message: 'the trigger to succeed' },
    );
    expect(sim.calls()).toHaveLength(2);
    expect(succeeded).toMatchObject({ attempts: 2, enqueuedAt: queued.enqueuedAt });
    expect(succeeded.settledAt).toBe(succeeded.lastAttemptAt);
    expect(Date.parse(succeeded.settledAt)).toBeGreaterThan(firstAttempt);
  });

  describe('OpenTelemetry, with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    async function tracedFleet(extra: Record<string, string> = {}) {
      const receiver = await startOtlpReceiver();
      cleanup.push(() => receiver.close());
      const otel = {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        ...extra,
      };
      const { ingest, client } = await ingestOnly(otel);
      return { receiver, client, ingest, worker: () => worker(otel) };
    }

    function spanNamed(spans: ExportedSpan[], name: string, traceId: string) {
      return spans.find((span) => span.name === name && span.traceId === traceId);
    }

    it('exports the request, the chunk write and the Salesforce call of one trigger as one trace', async () => {
      const { receiver, client, worker: startTracedWorker } = await tracedFleet();
      const traceId = hex(32, 'a');
      const callerSpan = hex(16, 'b');
      const answer = await client.post(
        `/v1/flows/${FLOW}/triggers`,
        { triggers: [{ input: { IndividualId: PERSON } }] },
        { traceparent: `00-${traceId}-${callerSpan}-01` },
      );
      expect(answer.status).toBe(202);
      const id: string = answer.json.accepted[0].id;
      const chunkId = id.split('.')[1] as string;
      // The trigger's trace context is stored with it.
      const data = await chunkData(chunkId);
      expect(data.tp).toEqual([
        [expect.stringMatching(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`)), 1],
      ]);
      await startTracedWorker();

      const [request, write, call] = await waitFor(
        () => {
          const found = [
            'POST /v1/flows/:flow/triggers',
            'flow-dispatcher chunk write',
            'salesforce flow call',
          ].map((name) => spanNamed(receiver.spans, name, traceId));
          return found.every(Boolean) ? (found as ExportedSpan[]) : undefined;
        },
        { message: 'the request, chunk write and call spans' },
      );
      expect(request).toMatchObject({
        service: 'flow-dispatcher-ingest',
        parentSpanId: callerSpan,
        attributes: {
          'http.request.method': 'POST',
          'http.route': '/v1/flows/:flow/triggers',
          'http.response.status_code': 202,
          'flow_dispatcher.request_id': answer.headers['x-request-id'],
        },
      });
      expect(write).toMatchObject({
        service: 'flow-dispatcher-ingest',
        parentSpanId: request?.spanId,
        attributes: {
          'flow_dispatcher.flow': FLOW,
          'flow_dispatcher.triggers': 1,
          'flow_dispatcher.chunk_id': chunkId,
        },
      });
      expect(data.tp).toEqual([[`00-${traceId}-${write?.spanId}-01`, 1]]);
      expect(call).toMatchObject({
        service: 'flow-dispatcher-worker',
        parentSpanId: write?.spanId,
        attributes: {
          'flow_dispatcher.flow': FLOW,
          'flow_dispatcher.inputs': 1,
          'flow_dispatcher.attempt': 1,
          'http.response.status_code': 200,
          'flow_dispatcher.succeeded': 1,
        },
      });
      expect(sim.calls()).toHaveLength(1);
      expect(receiver.paths[0]).toMatch(/^POST \/v1\/traces application\/json/);
      expect(JSON.stringify(receiver.spans)).not.toContain(PERSON);
    });

    it('links a call that carries triggers of several traces to each of them', async () => {
      const {
        receiver,
        client,
        worker: startTracedWorker,
      } = await tracedFleet({
        DISPATCH_LINGER_MS: '1500',
      });
      const traces = [hex(32, 'c'), hex(32, 'd')];
      const requestIds: string[] = [];
      const triggerIds: string[] = [];
      for (const traceId of traces) {
        const answer = await client.post(
          `/v1/flows/${FLOW}/triggers`,
          { triggers: [{ input: { IndividualId: PERSON } }] },
          { traceparent: `00-${traceId}-${hex(16, 'e')}-01` },
        );
        expect(answer.status).toBe(202);
        requestIds.push(String(answer.headers['x-request-id']));
        triggerIds.push(answer.json.accepted[0].id);
      }
      // Both chunks wait before the worker starts, and a long linger puts them in one call.
      const tracedWorker = await startTracedWorker();
      const call = await waitFor(
        () => receiver.spans.find((span) => span.name === 'salesforce flow call'),
        { message: 'the Salesforce call span' },
      );
      expect(sim.calls()).toHaveLength(1);
      expect(call.attributes['flow_dispatcher.inputs']).toBe(2);
      expect(traces).not.toContain(call.traceId);
      expect(call.parentSpanId).toBe('');
      const writes = await waitFor(() => {
        const found = traces.map((traceId) =>
          spanNamed(receiver.spans, 'flow-dispatcher chunk write', traceId),
        );
        return found.every(Boolean) ? (found as ExportedSpan[]) : undefined;
      });
      expect(call.links.map((link) => link.traceId).sort()).toEqual(traces);
      expect(call.links.map((link) => link.spanId).sort()).toEqual(
        writes.map((write) => write?.spanId).sort(),
      );
      // The call's log line names both requests, both triggers and both chunks.
      const line = JSON.parse(await tracedWorker.waitForLine(/"msg":"call settled"/));
      expect(line.requests.sort()).toEqual([...requestIds].sort());
      expect(line.triggers.sort()).toEqual([...triggerIds].sort());
      expect(line.chunks.sort()).toEqual(triggerIds.map((id) => id.split('.')[1]).sort());
    });
  });
});
