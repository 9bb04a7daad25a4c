import { Producer } from '@flow-dispatcher/producer';
import { newChunkId, RedisKeys } from '@flow-dispatcher/shared';
import {
  alwaysAvailableInputs,
  type Simulator,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { freePort, type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient, startIngestProcess } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import {
  type RecordingProxy,
  recordFigures,
  rssBytes,
  startRecordingProxy,
  WorkerFleet,
} from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { waitFor } from './support/wait.js';

/** Every request flow-dispatcher may send to Salesforce, by path. */
const ALLOWED_PATH =
  /^\/services\/(oauth2\/token|data\/v65\.0\/(limits|actions\/custom\/flow(\/[A-Za-z][A-Za-z0-9_]{0,79})?))$/;

/** Flow names an attacker (or a bug) could put in a URL, a request or Redis. */
const HOSTILE_FLOWS = [
  '../../sobjects/User',
  'Welcome_SMS/../../../limits',
  'Welcome_SMS?fields=Password',
  'Welcome_SMS#x',
  '%2e%2e%2fsobjects%2fUser',
  'Welcome SMS',
  'Welcome_SMS\r\nX-Injected: 1',
  'a'.repeat(300),
  '_private',
  'Ünïcode',
  'Welcome_SMS/',
];

describe('security: what reaches Salesforce', () => {
  let redis: RedisServerProcess | undefined;
  let proxy: RecordingProxy | undefined;
  let sim: Simulator | undefined;
  let fleet: WorkerFleet | undefined;
  const processes: CliProcess[] = [];
  const cleanup: (() => unknown)[] = [];

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    for (const child of processes.splice(0)) await child.kill('SIGKILL');
    await fleet?.killAll();
    await sim?.close();
    await proxy?.close();
    await redis?.stop();
  });

  /** A simulator behind a recording proxy: every request's raw path is kept. */
  async function salesforce(patch: Parameters<typeof startSimulator>[0] = {}) {
    proxy = await startRecordingProxy();
    const port = await freePort();
    sim = await startSimulator({ ...patch, port, publicUrl: proxy.url });
    proxy.target = `http://127.0.0.1:${port}`;
    return { proxy, sim };
  }

  it('the flow name can never change the path of a Salesforce request', async () => {
    redis = await startRedisServer();
    const { proxy: recorder, sim: simulator } = await salesforce({
      latency: { kind: 'fixed', ms: 5 },
    });
    const env = {
      ...fleetEnv({
        redisUrl: redis.url,
        prefix: 'paths',
        simulatorUrl: recorder.url,
        extra: { DISPATCH_MAX_ATTEMPTS: '2' },
      }),
      INGEST_TOKENS: 'paths-test-ingest-token-0123',
      INGEST_PORT: '0',
    };

    // Through ingest (which asks Salesforce for describes): every hostile name is refused.
    const ingest = await startIngestProcess(env);
    processes.push(ingest.process);
    const client = new IngestClient(ingest.url, 'paths-test-ingest-token-0123', 2);
    cleanup.push(() => client.close());
    const statuses = new Set<number>();
    for (const flow of HOSTILE_FLOWS) {
      const segment = encodeURIComponent(flow);
      for (const answer of [
        await client.get(`/v1/flows/${segment}`),
        await client.post(`/v1/flows/${segment}/triggers`, {
          triggers: [{ input: { IndividualId: '0PKpath00000000001' } }],
        }),
        await client.post(`/services/data/v65.0/actions/custom/flow/${segment}`, {
          inputs: [{ IndividualId: '0PKpath00000000002' }],
        }),
      ]) {
        statuses.add(answer.status);
        expect(answer.status, `${JSON.stringify(flow)} → ${answer.text}`).toBeGreaterThanOrEqual(
          400,
        );
        expect(answer.status).toBeLessThan(500);
      }
    }
    expect((await client.get('/v1/flows/Welcome_SMS')).status).toBe(200);

    // Straight into Redis, as someone with write access to it could: a queue per hostile name,
    // registered as a flow, holding a chunk job.
    const keys = new RedisKeys('paths');
    const writer = new Redis(redis.url);
    cleanup.push(() => writer.disconnect());
    const injected: string[] = [];
    for (const flow of HOSTILE_FLOWS) {
      let queue: Queue | undefined;
      try {
        queue = new Queue(flow, { connection: writer, prefix: keys.bullPrefix });
        // A chunk id as the producer makes them (outcome records are keyed by chunk id).
        await queue.add(
          flow,
          { v: 1, inputs: [{ IndividualId: '0PKinject000000001' }] },
          { jobId: newChunkId() },
        );
        await writer.sadd(keys.flows, flow);
        await writer.hincrby(keys.pending, flow, 1);
        injected.push(flow);
      } catch {
        // BullMQ refuses some names itself (fine: then no worker can meet them either).
      } finally {
        await queue?.close();
      }
    }
    const producer = new Producer({ redis: redis.url, prefix: 'paths' });
    cleanup.push(() => producer.close());
    await producer.trigger('Welcome_SMS', { IndividualId: '0PKpathgood0000001' });

    fleet = new WorkerFleet(env);
    await fleet.start(1);
    await waitFor(() => simulator.deliveries().has('0PKpathgood0000001'), {
      message: 'the good trigger delivered',
    });
    // Every injected trigger ends in the dead letters, naming the bad flow name.
    await waitFor(async () => (await producer.deadLetters.count()) >= injected.length, {
      message: 'injected triggers dead-lettered',
      timeoutMs: 60_000,
    });
    const letters = await producer.deadLetters.list({}, 100);

    const unexpected = recorder.requests.filter((r) => !ALLOWED_PATH.test(r.path));
    recordFigures('security-flow-paths', {
      hostileNames: HOSTILE_FLOWS.length,
      ingestStatuses: [...statuses].sort(),
      injectedIntoRedis: injected.length,
      deadLettered: letters.length,
      salesforceRequests: recorder.requests.length,
      distinctPaths: [...new Set(recorder.requests.map((r) => r.path))],
      unexpectedPaths: unexpected.length,
    });
    expect(unexpected).toEqual([]);
    expect(recorder.requests.some((r) => r.path.endsWith('/actions/custom/flow/Welcome_SMS'))).toBe(
      true,
    );
    expect(injected.length).toBeGreaterThan(5);
    for (const letter of letters) {
      expect(JSON.stringify(letter)).toMatch(/flow API name/);
    }
  });

  it('an answer larger than the bound is refused: the worker stays small and dead-letters the call', async () => {
    redis = await startRedisServer();
    // 200 successful interviews of 100 kB of output each: a 20 MB answer, over the 16 MiB bound.
    const { proxy: recorder, sim: simulator } = await salesforce({
      latency: { kind: 'fixed', ms: 5 },
      flows: {
        ...simulatorDefaults.flows,
        Huge_Answer: {
          inputs: [...alwaysAvailableInputs],
          outputs: [{ name: 'Blob', type: 'STRING', value: 'x'.repeat(100_000) }],
        },
      },
    });
    const producer = new Producer({ redis: redis.url, prefix: 'huge' });
    cleanup.push(() => producer.close());
    const people = Array.from({ length: 200 }, (_, i) => ({
      IndividualId: `0PKhugeanswer${String(i).padStart(5, '0')}`,
    }));
    await producer.triggerMany('Huge_Answer', people);
    fleet = new WorkerFleet(
      fleetEnv({
        redisUrl: redis.url,
        prefix: 'huge',
        simulatorUrl: recorder.url,
        // One attempt: the one 200-input call (its retries would go out in smaller calls,
        // whose answers fit).
        extra: { DISPATCH_MAX_ATTEMPTS: '1', DISPATCH_LINGER_MS: '200' },
      }),
    );
    const [worker] = await fleet.start(1);
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, rssBytes(worker?.child.pid ?? 0));
      } catch {
        // exited
      }
    }, 100);
    cleanup.push(() => clearInterval(sampler));
    await waitFor(async () => (await producer.deadLetters.count()) === 200, {
      message: 'the 200 triggers dead-lettered',
      timeoutMs: 60_000,
    });
    clearInterval(sampler);
    const letter = JSON.stringify(await producer.deadLetters.list({}, 1));
    const calls = simulator.calls().filter((c) => c.flow === 'Huge_Answer');
    recordFigures('security-max-response', {
      answerBytes: 200 * 100_000,
      calls: calls.length,
      workerPeakRssMb: Math.round(peakRss / 1024 / 1024),
      deadLetter: letter.slice(0, 300),
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ inputs: 200, status: 200 });
    expect(letter).toMatch(/MALFORMED_RESPONSE/);
    expect(letter).toMatch(/larger than maxResponseBytes/);
    expect(worker?.child.exitCode).toBeNull();
    // The answer was never held whole: far below 20 MB per call on top of the process itself.
    expect(peakRss).toBeLessThan(400 * 1024 * 1024);
  });
});
