import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { FlowQueues } from '@flow-dispatcher/producer';
import {
  type Config,
  ConfigError,
  defaults,
  type RedisConnection,
  RedisKeys,
} from '@flow-dispatcher/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BearerTokens } from '../bearer-auth.js';
import {
  readCookie,
  SESSION_COOKIE,
  sessionCookie,
  sessionValue,
  verifySession,
} from './admin-session.js';
import { loginPage } from './login-page.js';
import { maskPersonalData } from './personal-data-mask.js';
import { writeVerdict } from './write-policy.js';

export interface AdminUiOptions {
  /** Where the flow queues live: a connection (shared, not closed here) and the key names. */
  queues: { redis: RedisConnection; keys: RedisKeys };
  /** Only reads (ADMIN_UI_WRITE is off). @defaultValue true */
  readOnly?: boolean;
  /** The admin tokens (ADMIN_TOKENS); at least one. */
  auth: { tokens: readonly string[] };
  /** Input names masked in job data besides EmailAddress and TelephoneNumber (LOG_REDACT_INPUTS). */
  maskInputs?: readonly string[];
  /** @defaultValue '/admin' */
  basePath?: string;
  /** How long a browser login lasts. */
  sessionTtlMs: number;
  /** The flow registry is read again at most this often (on requests). */
  refreshMs: number;
  /** @defaultValue Date.now */
  clock?: () => number;
}

const HOUR_MS = 3_600_000;

/**
 * Checks the admin UI's configuration (start-up calls it before opening anything). The UI takes
 * ADMIN_TOKENS only, never INGEST_TOKENS: a producer backend's token must not read every flow's
 * job data or pause queues. A ConfigError naming ADMIN_TOKENS when there are none (whatever
 * INGEST_AUTH says: an open ingest does not make an open admin UI) or when one of them is also an
 * ingest token.
 */
export function checkAdminUiConfig(config: Config): void {
  const tokens = config.admin.tokens;
  requireAdminTokens(tokens);
  if (tokens.some((token) => config.ingest.tokens.includes(token))) {
    throw new ConfigError(
      'ADMIN_TOKENS',
      'one of them is also in INGEST_TOKENS: give the admin UI tokens of its own, so that no producer backend can use it',
    );
  }
}

/** The admin UI's options from the configuration (checked: see checkAdminUiConfig), on `redis`. */
export function adminUiOptionsFromConfig(config: Config, redis: RedisConnection): AdminUiOptions {
  checkAdminUiConfig(config);
  return {
    queues: { redis, keys: new RedisKeys(config.redis.prefix, config.redis.partitions) },
    readOnly: !config.admin.write,
    auth: { tokens: config.admin.tokens },
    maskInputs: config.log.redactInputs,
    sessionTtlMs: defaults.adminSessionTtlMs,
    refreshMs: defaults.adminRefreshMs,
  };
}

function requireAdminTokens(tokens: readonly string[]): void {
  if (tokens.length === 0) {
    throw new ConfigError(
      'ADMIN_TOKENS',
      'the admin UI (ADMIN_UI=on) needs tokens of its own in ADMIN_TOKENS (INGEST_TOKENS are not accepted there): it never runs without authentication',
    );
  }
}

/**
 * Mounts bull-board at `/admin` on a fastify app: one queue per flow, the list re-read from the
 * flow registry as flows appear, job data (and return values and progress) shown with personal
 * data masked (see personal-data-mask.ts).
 *
 * Access needs an admin token, either as `Authorization: Bearer <token>` (scripts) or through a
 * login: `GET /admin/login` shows a form, `POST /admin/login` with the token sets a signed,
 * HttpOnly, SameSite=Strict cookie (see admin-session.ts) and `GET|POST /admin/logout` clears
 * it. Without either, pages redirect to the login form and API calls get 401. Requests that would
 * change something pass `writeVerdict` (read-only unless `readOnly: false`, and even then only
 * the actions that lose nothing), and cookie-authenticated ones must come from this origin.
 */
export async function registerAdminUi(
  app: FastifyInstance,
  options: AdminUiOptions,
): Promise<void> {
  const tokens = [...options.auth.tokens];
  requireAdminTokens(tokens);
  const basePath = (options.basePath ?? '/admin').replace(/\/$/, '');
  const readOnly = options.readOnly ?? true;
  const ttlMs = options.sessionTtlMs;
  const refreshMs = options.refreshMs;
  const clock = options.clock ?? Date.now;
  const bearer = new BearerTokens(tokens);
  const { redis, keys } = options.queues;
  const queues = new FlowQueues(redis, keys);
  const mask = options.maskInputs ?? [];

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(basePath);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'flow-dispatcher',
        hideDocsLink: true,
        miscLinks: [{ text: 'Log out', url: `${basePath}/logout` }],
        sortQueues: true,
      },
    },
  });
  const shown = new Set<string>();
  let lastRefresh = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;
  const refreshQueues = async () => {
    if (clock() - lastRefresh < refreshMs) return;
    refreshing ??= (async () => {
      try {
        for (const partition of keys.allPartitions) {
          for (const flow of (await redis.smembers(partition.flows)).sort()) {
            // With several queue partitions a flow has a queue in each: `p1.Welcome_SMS`, …
            const prefix = partition.partition === 0 ? '' : `p${partition.partition}.`;
            if (shown.has(`${prefix}${flow}`)) continue;
            const adapter = new BullMQAdapter(queues.get(flow, partition.partition), {
              readOnlyMode: readOnly,
              allowRetries: !readOnly,
              prefix,
              description: `flow ${flow}${prefix ? ` (queue partition ${partition.partition})` : ''}: each job is a chunk of triggers`,
            });
            adapter.setFormatter('data', (data: unknown) => maskPersonalData(data, mask));
            adapter.setFormatter('returnValue', (value: unknown) => maskPersonalData(value, mask));
            adapter.setFormatter('progress', (value: unknown) => maskPersonalData(value, mask));
            board.addQueue(adapter);
            shown.add(`${prefix}${flow}`);
          }
        }
        lastRefresh = clock();
      } finally {
        refreshing = undefined;
      }
    })();
    await refreshing;
  };

  const authenticated = (request: FastifyRequest): 'bearer' | 'cookie' | undefined => {
    if (request.headers.authorization !== undefined) {
      return bearer.accepts(request.headers.authorization) ? 'bearer' : undefined;
    }
    const cookie = readCookie(request.headers.cookie, SESSION_COOKIE);
    return verifySession(cookie, tokens, clock(), ttlMs) ? 'cookie' : undefined;
  };
  const secure = (request: FastifyRequest) =>
    request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
  const refuse = (reply: FastifyReply, status: number, code: string, message: string) =>
    reply.code(status).type('application/json').send({ error: { code, message } });
  const sendLogin = (reply: FastifyReply, status: number, failed: boolean) =>
    reply
      .code(status)
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      )
      .type('text/html; charset=utf-8')
      .send(
        loginPage({
          action: `${basePath}/login`,
          failed,
          sessionTtl: `${Math.round(ttlMs / HOUR_MS)} hours`,
        }),
      );

  await app.register(
    async (scope) => {
      // The admin UI brings its own body parsers: the login form, and JSON for bull-board's
      // actions (which may send an empty body).
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 4_096 },
        (_request, body, done) =>
          done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
      scope.addContentTypeParser(
        'application/json',
        { parseAs: 'string', bodyLimit: 1024 * 1024 },
        (_request, body, done) => {
          try {
            done(null, (body as string).trim() === '' ? undefined : JSON.parse(body as string));
          } catch (err) {
            done(err as Error, undefined);
          }
        },
      );

      scope.addHook('onRequest', async (request, reply) => {
        reply.header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer');
        if ((request.routeOptions.config as { adminPublic?: boolean } | undefined)?.adminPublic) {
          return;
        }
        const via = authenticated(request);
        if (via === undefined) {
          if (request.method === 'GET' && (request.headers.accept ?? '').includes('text/html')) {
            return reply.redirect(`${basePath}/login`, 303);
          }
          reply.header('www-authenticate', 'Bearer');
          return refuse(
            reply,
            401,
            'UNAUTHORIZED',
            'an admin token is required (log in at /admin/login)',
          );
        }
        const route = (request.routeOptions.url ?? '').slice(basePath.length);
        const verdict = writeVerdict(
          request.method,
          route,
          request.params as Record<string, string | undefined>,
          readOnly,
        );
        if (verdict === 'read-only') {
          return refuse(
            reply,
            405,
            'READ_ONLY',
            'the admin UI is read-only (ADMIN_UI_WRITE=on allows pause, resume, retry and promote)',
          );
        }
        if (verdict === 'forbidden') {
          return refuse(
            reply,
            403,
            'FORBIDDEN_ACTION',
            'this action could lose triggers or break the backlog count; use the flow-dispatcher CLI (dlq, pause, resume) instead',
          );
        }
        if (via === 'cookie' && request.method !== 'GET' && request.method !== 'HEAD') {
          const origin = request.headers.origin;
          if (origin !== undefined && originHost(origin) !== request.headers.host) {
            return refuse(
              reply,
              403,
              'CROSS_ORIGIN',
              'admin actions must come from the admin UI itself',
            );
          }
        }
        // A failed refresh leaves the list as it was; bull-board's own reads report the outage.
        await refreshQueues().catch(() => {});
      });
      scope.addHook('onClose', async () => {
        await queues.close();
      });

      const publicRoute = { config: { adminPublic: true } };
      scope.get('/login', publicRoute, async (request, reply) => {
        if (authenticated(request)) return reply.redirect(`${basePath}/`, 303);
        return sendLogin(reply, 200, false);
      });
      scope.post('/login', publicRoute, async (request, reply) => {
        const token = (request.body as { token?: unknown } | undefined)?.token;
        if (typeof token !== 'string' || !bearer.accepts(`Bearer ${token}`)) {
          return sendLogin(reply, 401, true);
        }
        const expiresAtMs = clock() + ttlMs;
        reply.header(
          'set-cookie',
          sessionCookie(sessionValue(token, expiresAtMs), {
            path: basePath,
            maxAgeSeconds: Math.floor(ttlMs / 1_000),
            secure: secure(request),
          }),
        );
        return reply.redirect(`${basePath}/`, 303);
      });
      const logout = async (request: FastifyRequest, reply: FastifyReply) => {
        reply.header(
          'set-cookie',
          sessionCookie('', { path: basePath, maxAgeSeconds: 0, secure: secure(request) }),
        );
        return reply.redirect(`${basePath}/login`, 303);
      };
      scope.get('/logout', publicRoute, logout);
      scope.post('/logout', publicRoute, logout);

      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: basePath },
  );
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
