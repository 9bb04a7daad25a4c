import { readFileSync } from 'node:fs';
import { ERROR_CODES, type IngestServerOptions } from '@flow-dispatcher/ingest';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { compileErrors, validate } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, IngestClient, ingestEnv, startIngest } from './ingest-support.js';
import { fleetEnv } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * docs/openapi.json is the contract backends code against (README "Using it over HTTP"). Here:
 * it is what ingest serves, it is valid OpenAPI 3.1 (@readme/openapi-parser, and every schema
 * compiles under JSON Schema 2020-12), it lists every route ingest serves, and real answers of
 * every route (success and every error a test can provoke) match the documented status, body
 * schema and error code. Codes documented but provoked by no case fail the test, except the few
 * listed in NOT_PROVOKED_HERE with the reason.
 */

type FastifyInstance = Parameters<NonNullable<IngestServerOptions['extend']>>[0];

// biome-ignore lint/suspicious/noExplicitAny: the parsed document, walked by the test
type Json = any;

const COMMITTED = new URL('../docs/openapi.json', import.meta.url);
const README = new URL('../README.md', import.meta.url);
const DROP_IN = '/services/data/v65.0/actions/custom/flow';

/** Codes this file cannot provoke, and where they are tested instead. */
const NOT_PROVOKED_HERE: Record<string, string> = {
  SHUTTING_DOWN: 'needs a request to arrive during close (packages/ingest/src/admission.test.ts)',
  WRITE_FAILED: 'needs Redis to drop a write mid-way (test/fault-redis-outage.test.ts)',
  MISCONFIGURED: 'needs a fleet with another QUEUE_PARTITIONS (test/partition-layout.test.ts)',
  INTERNAL: 'an unexpected error: none can be provoked on purpose',
  UNKNOWN_EXCEPTION: 'INTERNAL in Salesforce words',
};

describe('ingest: the OpenAPI document is the contract of every route', () => {
  const prefix = uniquePrefix('openapi');
  const prefix2 = uniquePrefix('openapi-bare');
  let sim: Simulator;
  let privateRedis: RedisServerProcess;
  let app: FastifyInstance | undefined;
  let doc: Json;
  let client: IngestClient;
  let anonymous: IngestClient;
  let bare: IngestClient;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    cleanup.push(() => sim.close());
    const server = await startIngest(
      ingestEnv(TEST_REDIS_URL, prefix, {
        ...fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
        INGEST_MAX_BACKLOG: '6',
        INGEST_MAX_TRIGGERS_PER_REQUEST: '3',
        INGEST_MAX_BODY_BYTES: '4096',
      }),
      {
        extend: async (instance) => {
          app = instance;
        },
      },
    );
    cleanup.push(() => server.close());
    client = new IngestClient(server.url);
    anonymous = new IngestClient(server.url, null);
    cleanup.push(
      () => client.close(),
      () => anonymous.close(),
    );
    // A second ingest without Salesforce, on a Redis of its own that the test stops.
    privateRedis = await startRedisServer();
    cleanup.push(() => privateRedis.stop());
    const bareServer = await startIngest(ingestEnv(privateRedis.url, prefix2));
    cleanup.push(() => bareServer.close());
    bare = new IngestClient(bareServer.url);
    cleanup.push(() => bare.close());
    doc = (await anonymous.get('/openapi.json')).json;
  });

  afterAll(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('is served without a token, is docs/openapi.json, and is valid OpenAPI 3.1', async () => {
    const served = await anonymous.request('GET', '/openapi.json', { auth: false });
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toMatch(/^application\/json/);
    const committed = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    // On failure: run `pnpm openapi` and commit docs/openapi.json.
    expect(served.json, 'docs/openapi.json is stale: run `pnpm openapi`').toEqual(committed);
    expect(served.json.openapi).toBe('3.1.0');

    const result = await validate(structuredClone(served.json));
    expect(result.valid ? [] : compileErrors(result)).toEqual([]);
    expect(result.warnings).toEqual([]);

    // The validator checks the document's structure; each schema must also compile as 2020-12.
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    let schemas = 0;
    for (const operation of operations(served.json)) {
      for (const schema of schemasOf(operation.op)) {
        expect(() => ajv.compile(schema)).not.toThrow();
        schemas++;
      }
    }
    expect(schemas).toBeGreaterThan(40);
  });

  it("the README's error code table is ingest's: every code, with its status", () => {
    const section = readFileSync(README, 'utf8').split(
      '### HTTP API: contract, error codes, clients',
    )[1];
    const rows = [...(section ?? '').matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const codes = Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]);
    expect(rows.sort()).toEqual(codes.sort());
  });

  it('documents every route ingest serves, each with its request and answers', () => {
    if (!app) throw new Error('extend was not called');
    const served = routesOf(app)
      .filter((route) => route.method !== 'HEAD')
      .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`)
      .sort();
    const documented = operations(doc)
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
      .sort();
    expect(documented).toEqual(served);
    for (const { method, path, op } of operations(doc)) {
      expect(op.operationId, `${method} ${path}`).toEqual(expect.any(String));
      expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(1);
      for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])) {
        expect(
          op.parameters.some((p: Json) => p.in === 'path' && p.name === name),
          `${method} ${path} documents {${name}}`,
        ).toBe(true);
      }
      if (method === 'post')
        expect(op.requestBody.content['application/json'].schema).toBeDefined();
    }
  });

  it('answers every route with a documented status, body and error code', async () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    const compiled = new Map<object, ValidateFunction>();
    const covered = new Set<string>();

    /** Sends, checks the answer against the document, and returns it. */
    async function check(
      via: IngestClient,
      method: 'GET' | 'POST' | 'DELETE',
      path: string,
      expected: { status: number; code?: string },
      options: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {},
    ): Promise<Answer> {
      const answer = await via.request(method, path, options);
      const where = `${method} ${path} → ${answer.status} ${answer.text.slice(0, 200)}`;
      expect(answer.status, where).toBe(expected.status);
      const { template, op } = operationFor(doc, method, path);
      const documented = op.responses[String(answer.status)];
      expect(documented, `${where}: status not documented for ${template}`).toBeDefined();
      const [mediaType, { schema }] = Object.entries(documented.content)[0] as [string, Json];
      expect(answer.headers['content-type'], where).toContain(mediaType);
      const body = mediaType === 'application/json' ? answer.json : answer.text;
      let validateBody = compiled.get(schema);
      if (!validateBody) {
        validateBody = ajv.compile(schema);
        compiled.set(schema, validateBody);
      }
      expect(validateBody(body) ? [] : validateBody.errors, where).toEqual([]);
      const code = answer.json?.error?.code ?? answer.json?.[0]?.errorCode;
      const retryAfter = answer.headers['retry-after'];
      if (retryAfter !== undefined || answer.status === 429 || code === 'REDIS_UNAVAILABLE') {
        expect(
          documented.headers?.['Retry-After'],
          `${where}: Retry-After documented`,
        ).toBeDefined();
        expect(retryAfter, where).toMatch(/^\d+$/);
      }
      if (answer.status >= 400 && (expected.code !== undefined || code !== undefined)) {
        expect(code, where).toBe(expected.code);
        covered.add(`${op.operationId} ${answer.status} ${code}`);
      } else {
        covered.add(`${op.operationId} ${answer.status}`);
      }
      return answer;
    }

    const triggers = (flow: string) => `/v1/flows/${flow}/triggers`;
    const one = (id: string, key?: string) => ({
      triggers: [{ input: { IndividualId: id }, key }],
    });
    const asText = { 'content-type': 'text/plain' };
    const big = {
      triggers: [{ input: { IndividualId: '0PKoa0000000000001', Note: 'x'.repeat(5000) } }],
    };

    // Health, metrics, the document itself.
    await check(anonymous, 'GET', '/healthz', { status: 200 }, { auth: false });
    await check(anonymous, 'GET', '/readyz', { status: 200 }, { auth: false });
    const metrics = await check(anonymous, 'GET', '/metrics', { status: 200 }, { auth: false });
    expect(metrics.text).toMatch(/^# HELP /); // the exposition format itself, not a JSON string
    await check(anonymous, 'GET', '/openapi.json', { status: 200 }, { auth: false });

    // POST /v1/flows/{flow}/triggers
    const accepted = await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 202 },
      {
        body: one('0PKoa0000000000001', 'openapi-1'),
      },
    );
    const id = accepted.json.accepted[0].id as string;
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 401, code: 'UNAUTHORIZED' },
      {
        body: one('0PKoa0000000000001'),
        auth: false,
      },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 400, code: 'INVALID_JSON' },
      {
        body: '{"triggers":',
      },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 400, code: 'FORBIDDEN_KEY' },
      {
        body: '{"__proto__":{"x":1},"triggers":[]}',
      },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 400, code: 'INVALID_REQUEST' },
      {
        body: { triggers: 'all of them' },
      },
    );
    await check(
      client,
      'POST',
      triggers('9_Not_A_Flow'),
      {
        status: 400,
        code: 'INVALID_FLOW_NAME',
      },
      { body: one('0PKoa0000000000001') },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      {
        status: 400,
        code: 'TOO_MANY_TRIGGERS',
      },
      {
        body: {
          triggers: Array.from({ length: 4 }, () => ({
            input: { IndividualId: '0PKoa0000000000001' },
          })),
        },
      },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 400, code: 'INVALID_INPUT' },
      {
        body: { triggers: [{ input: { Phone: '1' } }] },
      },
    );
    await check(
      client,
      'POST',
      triggers('No_Such_Flow'),
      { status: 404, code: 'FLOW_NOT_FOUND' },
      {
        body: one('0PKoa0000000000001'),
      },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 413, code: 'BODY_TOO_LARGE' },
      {
        body: big,
      },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      { body: JSON.stringify(one('0PKoa0000000000001')), headers: asText },
    );

    // GET /v1/triggers/{id}
    await check(client, 'GET', `/v1/triggers/${id}`, { status: 200 });
    await check(
      client,
      'GET',
      `/v1/triggers/${id}`,
      { status: 401, code: 'UNAUTHORIZED' },
      { auth: false },
    );
    await check(client, 'GET', '/v1/triggers/Welcome_SMS.c00000000000000000000000.0', {
      status: 404,
      code: 'TRIGGER_NOT_FOUND',
    });
    await check(client, 'GET', '/v1/triggers/%E0%A4%A', { status: 400, code: 'INVALID_REQUEST' });

    // DELETE /v1/triggers/{id}, DELETE /v1/flows/{flow}/keys/{key} (no worker runs here: every
    // trigger is still queued, so a cancel takes it)
    const cancelled = await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 202 },
      {
        body: {
          triggers: [
            { input: { IndividualId: '0PKoa0000000000021' }, key: 'openapi-c1' },
            { input: { IndividualId: '0PKoa0000000000022' } },
          ],
        },
      },
    );
    const cancelId = cancelled.json.accepted[1].id as string;
    await check(client, 'DELETE', `/v1/triggers/${cancelId}`, { status: 200 });
    await check(client, 'DELETE', '/v1/flows/Welcome_SMS/keys/openapi-c1', { status: 200 });
    for (const path of [`/v1/triggers/${cancelId}`, '/v1/flows/Welcome_SMS/keys/openapi-c1']) {
      await check(client, 'DELETE', path, { status: 401, code: 'UNAUTHORIZED' }, { auth: false });
      await check(client, 'DELETE', path.replace(/[^/]+$/, '%E0%A4%A'), {
        status: 400,
        code: 'INVALID_REQUEST',
      });
    }
    await check(client, 'DELETE', '/v1/triggers/Welcome_SMS.c00000000000000000000000.0', {
      status: 404,
      code: 'TRIGGER_NOT_FOUND',
    });
    await check(client, 'DELETE', '/v1/flows/Welcome_SMS/keys/never-sent', {
      status: 404,
      code: 'TRIGGER_NOT_FOUND',
    });

    // GET /v1/flows/{flow}
    await check(client, 'GET', '/v1/flows/Welcome_SMS', { status: 200 });
    await check(
      client,
      'GET',
      '/v1/flows/Welcome_SMS',
      { status: 401, code: 'UNAUTHORIZED' },
      { auth: false },
    );
    await check(client, 'GET', '/v1/flows/9_Not_A_Flow', {
      status: 400,
      code: 'INVALID_FLOW_NAME',
    });
    await check(client, 'GET', '/v1/flows/No_Such_Flow', { status: 404, code: 'FLOW_NOT_FOUND' });
    await check(client, 'GET', '/v1/flows/%E0%A4%A', { status: 400, code: 'INVALID_REQUEST' });

    // The drop-in: describe (GET) and invoke (POST).
    await check(client, 'GET', `${DROP_IN}/Welcome_SMS`, { status: 200 });
    await check(
      client,
      'GET',
      `${DROP_IN}/Welcome_SMS`,
      { status: 401, code: 'INVALID_SESSION_ID' },
      { auth: false },
    );
    await check(client, 'GET', `${DROP_IN}/No_Such_Flow`, { status: 404, code: 'NOT_FOUND' });
    await check(client, 'GET', `${DROP_IN}/%E0%A4%A`, { status: 400, code: 'JSON_PARSER_ERROR' });
    await check(client, 'GET', '/services/data/v65.5/actions/custom/flow/Welcome_SMS', {
      status: 404,
      code: 'NOT_FOUND',
    });
    const inputs = (...ids: string[]) => ({
      inputs: ids.map((IndividualId) => ({ IndividualId })),
    });
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      { status: 200 },
      {
        body: inputs('0PKoa0000000000002'),
        headers: { 'idempotency-key': 'openapi-drop-in-1' },
      },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      { status: 400 },
      {
        body: { inputs: [{ IndividualId: '0PKoa0000000000003' }, { Phone: '1' }] },
      },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      { status: 400, code: 'JSON_PARSER_ERROR' },
      {
        body: { inputs: 'none' },
      },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      { status: 400, code: 'LIMIT_EXCEEDED' },
      {
        body: inputs(
          '0PKoa0000000000004',
          '0PKoa0000000000005',
          '0PKoa0000000000006',
          '0PKoa0000000000007',
        ),
      },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      { status: 401, code: 'INVALID_SESSION_ID' },
      {
        body: inputs('0PKoa0000000000002'),
        auth: false,
      },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/No_Such_Flow`,
      { status: 404, code: 'NOT_FOUND' },
      {
        body: inputs('0PKoa0000000000002'),
      },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      {
        status: 413,
        code: 'REQUEST_ENTITY_TOO_LARGE',
      },
      { body: { inputs: [{ IndividualId: '0PKoa0000000000001', Note: 'x'.repeat(5000) }] } },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      { body: JSON.stringify(inputs('0PKoa0000000000002')), headers: asText },
    );

    // Past the backlog limit (6 waiting, no worker runs): 429 on both write routes.
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 202 },
      {
        body: {
          triggers: ['8', '9', 'a'].map((n) => ({
            input: { IndividualId: `0PKoa000000000000${n}` },
          })),
        },
      },
    );
    await waitFor(
      async () =>
        (await client.trigger('Welcome_SMS', { input: { IndividualId: '0PKoa0000000000010' } }))
          .status === 429,
      {
        message: 'ingest to see the backlog at its limit',
      },
    );
    await check(
      client,
      'POST',
      triggers('Welcome_SMS'),
      { status: 429, code: 'BACKLOG_FULL' },
      {
        body: one('0PKoa0000000000011'),
      },
    );
    await check(
      client,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      {
        status: 429,
        code: 'REQUEST_LIMIT_EXCEEDED',
      },
      { body: inputs('0PKoa0000000000011') },
    );

    // Without Salesforce: describes are unavailable.
    await check(bare, 'GET', '/v1/flows/Welcome_SMS', {
      status: 503,
      code: 'SALESFORCE_UNAVAILABLE',
    });
    await check(bare, 'GET', `${DROP_IN}/Welcome_SMS`, { status: 503, code: 'SERVER_UNAVAILABLE' });

    // Redis gone: nothing can be stored or read.
    await privateRedis.kill();
    await waitFor(async () => (await bare.get('/readyz')).status === 503, {
      message: 'ingest to notice Redis is gone',
    });
    await check(bare, 'GET', '/readyz', { status: 503 }, { auth: false });
    await check(
      bare,
      'POST',
      triggers('Welcome_SMS'),
      { status: 503, code: 'REDIS_UNAVAILABLE' },
      {
        body: one('0PKoa0000000000012'),
      },
    );
    await check(bare, 'GET', `/v1/triggers/${id}`, { status: 503, code: 'REDIS_UNAVAILABLE' });
    await check(bare, 'DELETE', `/v1/triggers/${id}`, { status: 503, code: 'REDIS_UNAVAILABLE' });
    await check(bare, 'DELETE', '/v1/flows/Welcome_SMS/keys/openapi-1', {
      status: 503,
      code: 'REDIS_UNAVAILABLE',
    });
    await check(
      bare,
      'POST',
      `${DROP_IN}/Welcome_SMS`,
      { status: 503, code: 'SERVER_UNAVAILABLE' },
      {
        body: inputs('0PKoa0000000000012'),
      },
    );

    // Every documented (operation, status, code) was provoked, but for the listed exceptions.
    const missing = documentedAnswers(doc).filter(
      (answer) => !covered.has(answer) && !NOT_PROVOKED_HERE[answer.split(' ')[2] ?? ''],
    );
    expect(missing).toEqual([]);
  });
});

function operations(doc: Json): { method: string; path: string; op: Json }[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Json>).map(([method, op]) => ({ method, path, op })),
  );
}

function schemasOf(op: Json): object[] {
  const schemas: object[] = [];
  for (const parameter of op.parameters ?? []) schemas.push(parameter.schema);
  if (op.requestBody) schemas.push(op.requestBody.content['application/json'].schema);
  for (const answer of Object.values(op.responses as Record<string, Json>)) {
    for (const media of Object.values(answer.content as Record<string, Json>))
      schemas.push(media.schema);
  }
  return schemas;
}

/** The documented operation a concrete request path falls under. */
function operationFor(doc: Json, method: string, path: string): { template: string; op: Json } {
  const bare = path.split('?')[0] as string;
  for (const { method: m, path: template, op } of operations(doc)) {
    if (m !== method.toLowerCase()) continue;
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
    if (pattern.test(bare)) return { template, op };
  }
  throw new Error(`no documented operation for ${method} ${path}`);
}

/** "operationId status code" of every documented error code, "operationId status" otherwise. */
function documentedAnswers(doc: Json): string[] {
  const answers: string[] = [];
  for (const { op } of operations(doc)) {
    for (const [status, answer] of Object.entries(op.responses as Record<string, Json>)) {
      const schema = Object.values(answer.content as Record<string, Json>)[0].schema;
      const codes = errorCodesOf(schema);
      if (codes.length === 0) answers.push(`${op.operationId} ${status}`);
      for (const code of codes) answers.push(`${op.operationId} ${status} ${code}`);
    }
  }
  return answers;
}

function errorCodesOf(schema: Json): string[] {
  if (schema.anyOf) return schema.anyOf.flatMap(errorCodesOf);
  return (
    schema.properties?.error?.properties?.code?.enum ??
    schema.items?.properties?.errorCode?.enum ??
    []
  );
}

/** (method, path) of every route, from fastify's own route tree (as test/security-auth does). */
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
