import {
  type IngestServer,
  type IngestServerOptions,
  startIngestServer,
} from '@flow-dispatcher/ingest';
import { adminUiOptionsFromConfig, registerAdminUi } from '@flow-dispatcher/ingest/admin-ui';
import { createLogger, loadConfig } from '@flow-dispatcher/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigures } from './support/faults.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

/**
 * Every route ingest serves, the admin UI's included, is listed from the server itself (so a
 * route added later is covered without touching this test) and asked without credentials, with
 * a wrong bearer token, with a near miss of the right one and with a forged admin cookie. Only the
 * probes and the admin login/logout pages answer; everything else is refused with the same words
 * whatever was wrong. (Tokens are compared in constant time: ingest's BearerTokens hashes the
 * presented token and compares it with every accepted token's hash with timingSafeEqual, no
 * early exit; the admin cookie's HMAC is compared the same way. See docs/reliability.md.)
 */

const INGEST_TOKEN = 'auth-sweep-ingest-token-01234';
const ADMIN_TOKEN = 'auth-sweep-admin-token-56789';

/**
 * Routes anyone may call: probes, /metrics (Prometheus), the OpenAPI document (the API's shape,
 * no data) and the admin login/logout pages.
 */
const PUBLIC = new Set([
  'GET /openapi.json',
  'HEAD /openapi.json',
  'GET /healthz',
  'HEAD /healthz',
  'GET /readyz',
  'HEAD /readyz',
  'GET /metrics',
  'HEAD /metrics',
  'GET /admin/login',
  'HEAD /admin/login',
  'GET /admin/logout',
  'HEAD /admin/logout',
  'POST /admin/logout',
]);

/** Ingest's fastify instance, as `extend` receives it (fastify is not a dependency of the tests). */
type FastifyInstance = Parameters<NonNullable<IngestServerOptions['extend']>>[0];

const SAMPLE_PARAMS: Record<string, string> = {
  flow: 'Welcome_SMS',
  id: 'Welcome_SMS.c0mx2h0000000000000000.0',
  version: '65.0',
  queueName: 'Welcome_SMS',
  jobId: 'c0mx2h0000000000000000',
  queueStatus: 'failed',
  schedulerId: 'scheduler',
};

/** (method, path) of every route, from fastify's own route tree. */
function routesOf(app: FastifyInstance): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)$/.exec(line.replace(/\s+$/, ''));
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    const path = (stack[depth - 1] ?? '') + (match[2] as string);
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (match[3] as string).split(', ')) routes.push({ method, path });
  }
  return routes;
}

function concrete(path: string): string {
  return path
    .replace(/:([A-Za-z]+)/g, (_, name: string) => SAMPLE_PARAMS[name] ?? 'x')
    .replace(/\*$/, 'static/js/main.js');
}

describe('security: authentication on every ingest and admin route', () => {
  let server: IngestServer;
  let app: FastifyInstance | undefined;
  const prefix = uniquePrefix('auth-sweep');

  beforeAll(async () => {
    const config = loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      INGEST_PORT: '0',
      INGEST_TOKENS: INGEST_TOKEN,
      ADMIN_TOKENS: ADMIN_TOKEN,
      ADMIN_UI: 'on',
      ADMIN_UI_WRITE: 'on',
    });
    server = await startIngestServer({
      config,
      logger: createLogger({ level: 'silent' }),
      host: '127.0.0.1',
      extend: async (instance, { redis }) => {
        await registerAdminUi(instance, adminUiOptionsFromConfig(config, redis));
        app = instance;
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('refuses every non-public route without a valid credential, saying the same whatever was wrong', async () => {
    const routes = routesOf(app as FastifyInstance);
    expect(routes.length).toBeGreaterThan(30);
    const attempts: Record<string, Record<string, string>> = {
      none: {},
      wrong: { authorization: 'Bearer wrong-token-wrong-token-0000' },
      'near miss': { authorization: `Bearer ${INGEST_TOKEN.slice(0, -1)}x` },
      'admin token on a near miss': { authorization: `Bearer ${ADMIN_TOKEN}0` },
      'forged cookie': { cookie: `fd_admin=v1.${Date.now() + 60_000}.${'A'.repeat(43)}` },
    };
    const problems: string[] = [];
    let checked = 0;
    for (const { method, path } of routes) {
      const key = `${method} ${path}`;
      if (PUBLIC.has(key)) continue;
      const url = `${server.url}${concrete(path)}`;
      const bodies = new Set<string>();
      for (const [what, headers] of Object.entries(attempts)) {
        const withBody = !['GET', 'HEAD'].includes(method);
        const response = await fetch(url, {
          method,
          redirect: 'manual',
          headers: {
            ...headers,
            ...(withBody ? { 'content-type': 'application/json' } : {}),
            // Admin writes check the origin too; make that check pass so auth is what decides.
            origin: server.url,
          },
          ...(withBody ? { body: JSON.stringify({ triggers: [] }) } : {}),
        });
        const text = await response.text();
        checked++;
        const redirectToLogin =
          [302, 303].includes(response.status) &&
          response.headers.get('location') === '/admin/login';
        if (response.status !== 401 && !redirectToLogin) {
          problems.push(`${key} (${what}) → ${response.status} ${text.slice(0, 120)}`);
        }
        if (response.status === 401 && method !== 'HEAD') bodies.add(text);
      }
      // No hint: the refusal reads the same whatever was wrong with the credential.
      if (bodies.size > 1) problems.push(`${key}: different refusals ${[...bodies].join(' | ')}`);
    }
    recordFigures('security-auth-sweep', { routes: routes.length, requests: checked, problems });
    expect(problems).toEqual([]);
    // The right credentials do open them (the sweep is not refusing everything).
    const status = async (path: string, token: string) =>
      (await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } }))
        .status;
    expect(await status(`/v1/triggers/${SAMPLE_PARAMS.id}`, INGEST_TOKEN)).toBe(404);
    expect(await status('/admin/api/queues', ADMIN_TOKEN)).toBe(200);
    expect(await status('/admin/api/queues', INGEST_TOKEN)).toBe(401);
  });

  it('the public routes carry no trigger data and the login refuses a wrong token', async () => {
    const login = await fetch(`${server.url}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: `${ADMIN_TOKEN}0` }).toString(),
      redirect: 'manual',
    });
    expect(login.status).toBe(401);
    expect(login.headers.get('set-cookie')).toBeNull();
    const text = await login.text();
    expect(text).not.toContain(ADMIN_TOKEN);
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const body = await (await fetch(`${server.url}${path}`)).text();
      expect(body).not.toMatch(/IndividualId|0PK[A-Za-z0-9]{15}|@example\.com/);
    }
  });
});
