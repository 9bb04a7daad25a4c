import { startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  IngestClient,
  ingestEnv,
  startIngest,
  startIngestProcess,
  stored,
  TOKEN,
} from './ingest-support.js';
import { runCli } from './support/cli-process.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const input = { IndividualId: '0PKauth00000000001' };

describe('ingest authentication and lifecycle', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  let prefix: string;

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    if (prefix) await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('refuses to start without tokens, naming INGEST_TOKENS (exit 2)', async () => {
    const { code, stderr } = await runCli(['ingest'], {
      REDIS_URL: TEST_REDIS_URL,
      INGEST_PORT: '0',
    });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/INGEST_TOKENS/);
    expect(stderr).toMatch(/INGEST_AUTH=none/);
  });

  it('explains itself with --help', async () => {
    const { code, stdout } = await runCli(['ingest', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/INGEST_TOKENS/);
    expect(stdout).toMatch(/\/v1\/flows\/\{flow\}\/triggers/);
  });

  it('answers 401 without a hint for a missing, wrong or partial token; probes need none', async () => {
    prefix = uniquePrefix('ingest-auth');
    const server = await startIngest(ingestEnv(TEST_REDIS_URL, prefix), {
      // What the admin UI uses to mount itself: routes of its own, with their own auth.
      extend: (app, { redis }) =>
        app.register(async (scope) => {
          scope.get('/extra/ping', async () => ({ redis: await redis.ping() }));
        }),
    });
    cleanup.push(() => server.close());
    const anonymous = new IngestClient(server.url, null);
    cleanup.push(() => anonymous.close());
    const body = { triggers: [{ input }] };
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Bearer ${TOKEN.toUpperCase()}` },
      { authorization: `Basic ${TOKEN}` },
      { authorization: TOKEN },
      { authorization: 'Bearer ' },
    ];
    const answers = await Promise.all(
      attempts.map((headers) => anonymous.post('/v1/flows/Welcome_SMS/triggers', body, headers)),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer');
      // The same words whatever was wrong.
      expect(answer.text).toBe(answers[0]?.text);
    }
    expect(answers[0]?.json).toEqual({
      error: { code: 'UNAUTHORIZED', message: 'a valid bearer token is required' },
    });
    expect((await anonymous.get('/v1/triggers/Welcome_SMS.c0000000000000000000000.0')).status).toBe(
      401,
    );
    expect((await anonymous.get('/v1/flows/Welcome_SMS')).status).toBe(401);
    expect(await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS')).toEqual({ pending: {}, jobs: 0 });

    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await anonymous.get(path)).status).toBe(200);
    }
    expect((await anonymous.get('/extra/ping')).json).toEqual({ redis: 'PONG' });
    const authorised = new IngestClient(server.url);
    cleanup.push(() => authorised.close());
    expect((await authorised.trigger('Welcome_SMS', { input })).status).toBe(202);
  });

  it('takes requests without a token when INGEST_AUTH=none', async () => {
    prefix = uniquePrefix('ingest-noauth');
    const env = ingestEnv(TEST_REDIS_URL, prefix, { INGEST_AUTH: 'none' });
    delete env.INGEST_TOKENS;
    const { process: ingest, url } = await startIngestProcess(env);
    cleanup.push(() => ingest.kill());
    const client = new IngestClient(url, null);
    cleanup.push(() => client.close());
    const answer = await client.trigger('Welcome_SMS', { input });
    expect(answer.status).toBe(202);
    expect(answer.json.accepted).toEqual([
      { id: expect.stringMatching(/^Welcome_SMS\./), key: null, duplicate: false },
    ]);
    expect(ingest.output).toMatch(/"auth":"none"/);
  });

  it('on SIGTERM finishes the requests in flight with their writes, exits 0', async () => {
    prefix = uniquePrefix('ingest-term');
    // A private Redis whose writes the test holds (CLIENT PAUSE WRITE): the requests stay in
    // flight, gathered in a chunk or in its write, however slow the machine is, until the signal
    // has come.
    const redis = await startRedisServer();
    cleanup.push(() => redis.stop());
    const admin = new Redis(redis.url);
    cleanup.push(async () => admin.disconnect());
    const { process: ingest, url } = await startIngestProcess(
      ingestEnv(redis.url, prefix, { INGEST_LINGER_MS: '1000' }),
    );
    cleanup.push(() => ingest.kill('SIGKILL'));
    const client = new IngestClient(url, TOKEN, 32);
    cleanup.push(() => client.close());
    expect((await client.get('/readyz')).status).toBe(200);

    await admin.call('CLIENT', 'PAUSE', '120000', 'WRITE');
    const inFlight = Array.from({ length: 20 }, (_, i) =>
      client.trigger('Welcome_SMS', {
        input: { IndividualId: `0PKterm${String(i).padStart(11, '0')}` },
      }),
    );
    // 20 requests waiting for their write (the /metrics request itself is the 21st).
    await waitFor(
      async () => (await client.metric('flow_dispatcher_ingest_requests_in_flight')) === 21,
      { message: '20 requests in flight' },
    );
    ingest.child.kill('SIGTERM');
    await ingest.waitForLine(/SIGTERM: shutting down/);
    await admin.call('CLIENT', 'UNPAUSE');
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(await ingest.exited).toEqual({ code: 0, signal: null });
    // Every 202 is in Redis.
    const after = await stored(redis.url, prefix, 'Welcome_SMS');
    expect(after.pending).toEqual({ Welcome_SMS: '20' });
    expect(after.jobs).toBeGreaterThanOrEqual(1);
    expect(ingest.output).toMatch(/"msg":"ingest stopped"/);
  });
});
