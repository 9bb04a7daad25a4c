import { afterEach, describe, expect, it } from 'vitest';
import { ingestEnv, TOKEN } from './ingest-support.js';
import { CliProcess } from './support/cli-process.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

/**
 * `flow-dispatcher ingest` with METRICS_PORT set serves `/metrics` and `/admin` on that port and
 * not on INGEST_PORT (README: configuration), so an Ingress in front of the API port never
 * exposes them; without it, everything stays on INGEST_PORT.
 */

const ADMIN_TOKEN = 'admin-token-abcdefghijk';
const FLOW = 'Welcome_SMS';

let prefix: string;
const processes: CliProcess[] = [];

afterEach(async () => {
  while (processes.length) await processes.pop()?.kill();
  if (prefix) await deletePrefix(TEST_REDIS_URL, prefix);
});

async function startIngest(extra: Record<string, string>) {
  prefix = uniquePrefix('ingest-mport');
  const ingest = new CliProcess(
    ['ingest'],
    ingestEnv(TEST_REDIS_URL, prefix, {
      ADMIN_UI: 'on',
      ADMIN_TOKENS: ADMIN_TOKEN,
      ...extra,
    }),
  );
  processes.push(ingest);
  const ready = JSON.parse(await ingest.waitForLine(/"msg":"ingest ready"/, 30_000)) as {
    port: number;
    metricsPort?: number;
  };
  return {
    api: `http://127.0.0.1:${ready.port}`,
    admin: ready.metricsPort === undefined ? undefined : `http://127.0.0.1:${ready.metricsPort}`,
  };
}

async function enqueue(api: string, n: number) {
  const response = await fetch(`${api}/v1/flows/${FLOW}/triggers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      triggers: Array.from({ length: n }, (_, i) => ({
        input: { IndividualId: `0PKmport0000000${String(i).padStart(3, '0')}` },
      })),
    }),
  });
  expect(response.status).toBe(202);
}

/** Triggers ingest wrote in chunks (its own counter: workers export the enqueued total). */
const enqueuedCount = (metrics: string) =>
  Number(/^flow_dispatcher_ingest_chunk_triggers_sum (\d+)$/m.exec(metrics)?.[1]);

describe('ingest with METRICS_PORT', () => {
  it('answers 404 for /metrics and /admin on the API port and serves them on METRICS_PORT', async () => {
    const { api, admin } = await startIngest({ METRICS_PORT: '0' });
    expect(admin).toBeDefined();
    expect(admin).not.toBe(api);
    await enqueue(api, 3);

    for (const path of ['/metrics', '/admin', '/admin/', '/admin/login', '/admin/api/queues']) {
      const response = await fetch(`${api}${path}`, { redirect: 'manual' });
      expect(response.status, `API port ${path}`).toBe(404);
      expect(await response.json()).toEqual({
        error: { code: 'NOT_FOUND', message: expect.any(String) },
      });
    }
    // Probes still work on the API port (the Deployment's probes use it).
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    expect((await fetch(`${api}/readyz`)).status).toBe(200);

    const metrics = await fetch(`${admin}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    // The admin port's registry is ingest's: it counted the API port's three triggers.
    expect(enqueuedCount(await metrics.text())).toBe(3);
    const login = await fetch(`${admin}/admin/login`);
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<form method="post" action="/admin/login">');
    const page = await fetch(`${admin}/admin/`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    const queues = await fetch(`${admin}/admin/api/queues`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(queues.status).toBe(200);
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    expect((await fetch(`${admin}/readyz`)).status).toBe(200);

    // The admin port does not take triggers.
    const post = await fetch(`${admin}/v1/flows/${FLOW}/triggers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ triggers: [{ input: { IndividualId: '0PKmport0000000999' } }] }),
    });
    expect(post.status).toBe(404);
    expect(enqueuedCount(await (await fetch(`${admin}/metrics`)).text())).toBe(3);
  });

  it('without METRICS_PORT keeps /metrics and /admin on the API port', async () => {
    const { api, admin } = await startIngest({});
    expect(admin).toBeUndefined();
    await enqueue(api, 2);
    const metrics = await fetch(`${api}/metrics`);
    expect(metrics.status).toBe(200);
    expect(enqueuedCount(await metrics.text())).toBe(2);
    expect((await fetch(`${api}/admin/login`)).status).toBe(200);
  });
});
