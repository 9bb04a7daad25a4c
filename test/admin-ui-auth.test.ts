import { type IngestServer, startIngestServer } from '@flow-dispatcher/ingest';
import { adminUiOptionsFromConfig, registerAdminUi } from '@flow-dispatcher/ingest/admin-ui';
import { Producer } from '@flow-dispatcher/producer';
import { createLogger, loadConfig } from '@flow-dispatcher/shared';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const INGEST_TOKEN = 'ingest-token-0123456789';
const ADMIN_TOKEN = 'admin-token-abcdefghijk';

/** The admin UI as `flow-dispatcher ingest` mounts it (ADMIN_UI=on), on a free port. */
async function startIngestWithAdmin(env: Record<string, string>): Promise<IngestServer> {
  const config = loadConfig({ INGEST_PORT: '0', ADMIN_UI: 'on', ...env });
  return startIngestServer({
    config,
    logger: createLogger({ level: 'silent' }),
    host: '127.0.0.1',
    extend: (app, { redis }) => registerAdminUi(app, adminUiOptionsFromConfig(config, redis)),
  });
}

const form = (token: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ token }).toString(),
  redirect: 'manual' as const,
});

describe('admin UI: authentication and write policy (mounted on ingest)', () => {
  let prefix: string;
  let producer: Producer;
  const servers: IngestServer[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('admin-auth');
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    await producer.trigger(
      'Welcome_SMS',
      {
        IndividualId: '0PKadm000000000001',
        EmailAddress: 'person@example.com',
        // Personal data outside the inputs named for it: masked by its shape.
        Coupon_Code: 'for other.person@example.org, +44 20 7946 0958',
      },
      { key: 'signup:person@example.com:+15550100999' },
    );
  });

  afterEach(async () => {
    while (servers.length) await servers.pop()?.close();
    await producer.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  async function server(extra: Record<string, string> = {}) {
    const s = await startIngestWithAdmin({
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      INGEST_TOKENS: INGEST_TOKEN,
      ADMIN_TOKENS: ADMIN_TOKEN,
      ...extra,
    });
    servers.push(s);
    return s;
  }

  async function login(url: string, token: string): Promise<string> {
    const response = await fetch(`${url}/admin/login`, form(token));
    expect(response.status).toBe(303);
    const cookie = response.headers.get('set-cookie') ?? '';
    return cookie.split(';')[0] ?? '';
  }

  it('refuses everything without a token and lets a login in', async () => {
    const { url } = await server();
    const page = await fetch(`${url}/admin/`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/admin/login');
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
    ];
    for (const headers of attempts) {
      const api = await fetch(`${url}/admin/api/queues`, { headers });
      expect(api.status).toBe(401);
      expect(await api.json()).toEqual({
        error: { code: 'UNAUTHORIZED', message: expect.any(String) },
      });
    }
    expect((await fetch(`${url}/admin/static/js/main.js`)).status).toBe(401);
    expect(
      (
        await fetch(`${url}/admin/api/queues`, {
          headers: { cookie: 'fd_admin=v1.9999999999999.AAAA' },
        })
      ).status,
    ).toBe(401);

    const loginPage = await fetch(`${url}/admin/login`);
    expect(loginPage.status).toBe(200);
    expect(await loginPage.text()).toContain('<form method="post" action="/admin/login">');
    const wrong = await fetch(`${url}/admin/login`, form('wrong-token-0123456789'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    // An ingest token is not an admin token, at the login or as a bearer.
    expect((await fetch(`${url}/admin/login`, form(INGEST_TOKEN))).status).toBe(401);
    expect(
      (
        await fetch(`${url}/admin/api/queues`, {
          headers: { authorization: `Bearer ${INGEST_TOKEN}` },
        })
      ).status,
    ).toBe(401);
    const response = await fetch(`${url}/admin/login`, form(ADMIN_TOKEN));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/admin/');
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      /^fd_admin=v1\.\d+\.[A-Za-z0-9_-]{43}; Path=\/admin; Max-Age=28800; HttpOnly; SameSite=Strict$/,
    );
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const cookie = setCookie.split(';')[0] ?? '';

    const home = await fetch(`${url}/admin/`, { headers: { cookie } });
    expect(home.status).toBe(200);
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    const queues = await fetch(
      `${url}/admin/api/queues?activeQueue=Welcome_SMS&status=latest&page=1&jobsPerPage=10`,
      {
        headers: { cookie },
      },
    );
    expect(queues.status).toBe(200);
    const text = await queues.text();
    const body = JSON.parse(text) as {
      queues: {
        name: string;
        readOnlyMode: boolean;
        jobs: { data: { inputs: object[]; keys: string[] } }[];
      }[];
    };
    expect(body.queues.map((q) => q.name)).toEqual(['Welcome_SMS']);
    expect(body.queues[0]?.readOnlyMode).toBe(true);
    // Personal data is masked in the UI: the inputs named for it whole, and anything shaped like
    // an e-mail address or a phone number wherever it is, the idempotency key included.
    expect(body.queues[0]?.jobs[0]?.data.inputs[0]).toEqual({
      IndividualId: '0PKadm000000000001',
      EmailAddress: '[masked]',
      Coupon_Code: 'for [email], [phone]',
    });
    expect(body.queues[0]?.jobs[0]?.data.keys).toEqual(['signup:[email]:[phone]']);
    for (const personal of ['example.com', 'example.org', '7946', '5550100999']) {
      expect(text).not.toContain(personal);
    }

    // A cookie altered by hand is worthless; logging out clears it.
    const forged = cookie.replace(/\.(\d+)\./, (_, n) => `.${Number(n) + 1000}.`);
    expect((await fetch(`${url}/admin/api/queues`, { headers: { cookie: forged } })).status).toBe(
      401,
    );
    const logout = await fetch(`${url}/admin/logout`, { headers: { cookie }, redirect: 'manual' });
    expect(logout.status).toBe(303);
    expect(logout.headers.get('set-cookie')).toMatch(/^fd_admin=; Path=\/admin; Max-Age=0;/);
  });

  it('lists flows as they appear', async () => {
    const { url } = await server();
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const names = async () =>
      (
        (await (await fetch(`${url}/admin/api/queues`, { headers: auth })).json()) as {
          queues: { name: string }[];
        }
      ).queues.map((q) => q.name);
    expect(await names()).toEqual(['Welcome_SMS']);
    await producer.trigger('Order_Confirmation_Email', { IndividualId: '0PKadm000000000002' });
    await waitFor(async () => (await names()).length === 2, { message: 'the new flow listed' });
    expect((await names()).sort()).toEqual(['Order_Confirmation_Email', 'Welcome_SMS']);
  });

  it('is read-only by default; write mode allows only what loses nothing', async () => {
    const queue = new Queue('Welcome_SMS', { connection: producer.redis, prefix: `{${prefix}}:q` });
    try {
      const readOnly = await server();
      const cookie = await login(readOnly.url, ADMIN_TOKEN);
      const pause = await fetch(`${readOnly.url}/admin/api/queues/Welcome_SMS/pause`, {
        method: 'PUT',
        headers: { cookie },
      });
      expect(pause.status).toBe(405);
      expect(((await pause.json()) as { error: { code: string } }).error.code).toBe('READ_ONLY');
      expect(await queue.isPaused()).toBe(false);

      const writable = await server({ ADMIN_UI_WRITE: 'on' });
      const writeCookie = await login(writable.url, ADMIN_TOKEN);
      const paused = await fetch(`${writable.url}/admin/api/queues/Welcome_SMS/pause`, {
        method: 'PUT',
        headers: { cookie: writeCookie, origin: writable.url },
      });
      expect(paused.status).toBe(200);
      expect(await queue.isPaused()).toBe(true);

      // Emptying the queue would drop triggers silently: refused, the chunk is still there.
      const empty = await fetch(`${writable.url}/admin/api/queues/Welcome_SMS/empty`, {
        method: 'PUT',
        headers: { cookie: writeCookie },
      });
      expect(empty.status).toBe(403);
      expect(await queue.getJobCounts('wait', 'prioritized')).toEqual({ wait: 0, prioritized: 1 });

      // Another site's page cannot act with the cookie.
      const crossSite = await fetch(`${writable.url}/admin/api/queues/Welcome_SMS/resume`, {
        method: 'PUT',
        headers: { cookie: writeCookie, origin: 'https://evil.example' },
      });
      expect(crossSite.status).toBe(403);
      expect(await queue.isPaused()).toBe(true);
    } finally {
      await queue.close();
    }
  });

  it('needs admin tokens of its own: never the ingest tokens, never none', async () => {
    const { url } = await server();
    const cookie = await login(url, ADMIN_TOKEN);
    expect((await fetch(`${url}/admin/api/queues`, { headers: { cookie } })).status).toBe(200);
    // An admin token is not an ingest token.
    const trigger = await fetch(`${url}/v1/flows/Welcome_SMS/triggers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ triggers: [{ input: { IndividualId: '0PKadm000000000003' } }] }),
    });
    expect(trigger.status).toBe(401);

    const base = {
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      INGEST_PORT: '0',
      ADMIN_UI: 'on',
    };
    for (const env of [
      // Ingest tokens alone no longer open the admin UI...
      { ...base, INGEST_TOKENS: INGEST_TOKEN },
      // ...nor does an open ingest...
      { ...base, INGEST_AUTH: 'none' },
      // ...nor an admin token that is also an ingest token.
      { ...base, INGEST_TOKENS: INGEST_TOKEN, ADMIN_TOKENS: `${ADMIN_TOKEN},${INGEST_TOKEN}` },
    ]) {
      const refused = await runCli(['ingest'], env, 30_000);
      expect(refused.timedOut).toBe(false);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^flow-dispatcher: ADMIN_TOKENS: /),
      ]);
      expect(refused.stderr).not.toContain(INGEST_TOKEN);
    }
  });
});
