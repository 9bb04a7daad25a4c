import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient, startIngestProcess, TOKEN } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

const FLOW = 'Welcome_SMS';
const PERSON = '0PKtrace00000000042';
const PHONE = '+15550100777';

/** The JSON log lines of a process that match `pattern`. */
function logLines(process: CliProcess, pattern: RegExp): Record<string, unknown>[] {
  return process.lines.filter((line) => pattern.test(line)).map((line) => JSON.parse(line));
}

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

  async function fleet(extra: Record<string, string> = {}) {
    const env = fleetEnv({
      redisUrl: TEST_REDIS_URL,
      prefix,
      simulatorUrl: sim.url,
      extra: { INGEST_PORT: '0', INGEST_TOKENS: TOKEN, ...extra },
    });
    const ingest = await startIngestProcess(env);
    cleanup.push(() => ingest.process.kill());
    const worker = await startWorkerProcess(env);
    cleanup.push(() => worker.kill());
    const client = new IngestClient(ingest.url);
    cleanup.push(() => client.close());
    return { ingest: ingest.process, worker, client };
  }

  it('greps one request id from the ingest line to the worker line naming its trigger and chunk', async () => {
    const { ingest, worker, client } = await fleet();
    const requestId = `req-${prefix}`;
    const answer = await client.post(
      `/v1/flows/${FLOW}/triggers`,
      { triggers: [{ input: { IndividualId: PERSON, TelephoneNumber: PHONE } }] },
      { 'x-request-id': requestId },
    );
    expect(answer.status).toBe(202);
    expect(answer.headers['x-request-id']).toBe(requestId);
    const id: string = answer.json.accepted[0].id;
    const chunkId = id.split('.')[1];

    // The worker's line for the call, found by the request id alone.
    const line = await worker.waitForLine(new RegExp(requestId));
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
    for (const output of [ingest.output, worker.output]) {
      expect(output).not.toContain(PERSON);
      expect(output).not.toContain('5550100777');
      expect(output).not.toContain(TOKEN);
    }
  });

  it('makes up a request id when the caller sends none or an unusable one, and echoes it', async () => {
    const { ingest, client } = await fleet();
    const none = await client.post(`/v1/flows/${FLOW}/triggers`, {
      triggers: [{ input: { IndividualId: PERSON } }],
    });
    const bad = await client.post(
      `/v1/flows/${FLOW}/triggers`,
      { triggers: [{ input: { IndividualId: PERSON } }] },
      { 'x-request-id': 'has spaces "and quotes"' },
    );
    const missing = await client.get('/v1/triggers/nope');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const ids = [none, bad, missing].map((answer) => String(answer.headers['x-request-id']));
    for (const id of ids) expect(id).toMatch(uuid);
    expect(new Set(ids).size).toBe(3);
    expect(missing.status).toBe(404);
    await ingest.waitForLine(new RegExp(ids[2] as string));
    expect(logLines(ingest, new RegExp(ids[2] as string))).toMatchObject([
      { msg: 'request', method: 'GET', route: '/v1/triggers/:id', status: 404 },
    ]);
    expect(ingest.output).not.toContain('has spaces');
  });
});
