import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestClient, ingestEnv, startIngestProcess, stored, TOKEN } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import { deletePrefix, keysUnder, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

const good = { IndividualId: '0PKbad000000000001' };
const deep = (levels: number): unknown => (levels === 0 ? 'leaf' : { Level: deep(levels - 1) });
const bigBody = () => {
  const filler = 'x'.repeat(1_000);
  const triggers = Array.from({ length: 10_500 }, () => ({ input: { ...good, Note: filler } }));
  return JSON.stringify({ triggers });
};

interface Case {
  name: string;
  method?: 'GET' | 'POST';
  path?: string;
  body?: unknown;
  headers?: Record<string, string>;
  auth?: boolean;
  status: number;
  /** The error code (native) or errorCode (drop-in). */
  code: string;
  /** A piece of the message that names the problem. */
  names?: RegExp;
}

const TRIGGERS = '/v1/flows/Welcome_SMS/triggers';
const DROP_IN = '/services/data/v65.0/actions/custom/flow/Welcome_SMS';

const cases: Case[] = [
  {
    name: 'no token',
    auth: false,
    body: { triggers: [{ input: good }] },
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'a wrong token',
    headers: { authorization: 'Bearer not-the-right-token-at-all' },
    body: { triggers: [{ input: good }] },
    status: 401,
    code: 'UNAUTHORIZED',
  },
  {
    name: 'malformed JSON',
    body: '{"triggers": [{"input": {"IndividualId": "0PK"}',
    status: 400,
    code: 'INVALID_JSON',
    names: /not valid JSON/,
  },
  { name: 'an empty body', body: '', status: 400, code: 'INVALID_JSON', names: /empty/ },
  {
    name: 'a wrong content type',
    body: JSON.stringify({ triggers: [{ input: good }] }),
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    names: /application\/json/,
  },
  {
    name: 'form-encoded data',
    body: 'triggers=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'triggers not an array',
    body: { triggers: { input: good } },
    status: 400,
    code: 'INVALID_REQUEST',
    names: /^triggers must be an array/,
  },
  {
    name: 'no triggers',
    body: { triggers: [] },
    status: 400,
    code: 'INVALID_REQUEST',
    names: /at least one/,
  },
  {
    name: 'a misspelt field',
    body: { triggers: [{ input: good, Key: 'k' }] },
    status: 400,
    code: 'INVALID_REQUEST',
    names: /"Key"/,
  },
  {
    name: 'an input that is not an object',
    body: { triggers: [{ input: ['0PK'] }] },
    status: 400,
    code: 'INVALID_INPUT',
    names: /triggers\[0\]\.input must be a JSON object/,
  },
  {
    name: 'a missing IndividualId',
    body: { triggers: [{ input: good }, { input: { EmailAddress: 'x@example.com' } }] },
    status: 400,
    code: 'INVALID_INPUT',
    names: /triggers\[1\]\.input\.IndividualId is required/,
  },
  {
    name: 'a key too long',
    body: { triggers: [{ input: good, key: 'k'.repeat(300) }] },
    status: 400,
    code: 'INVALID_REQUEST',
    names: /key must be 1 to 256/,
  },
  {
    name: 'too many triggers',
    body: { triggers: Array.from({ length: 101 }, () => ({ input: good })) },
    status: 400,
    code: 'TOO_MANY_TRIGGERS',
    names: /more than the 100/,
  },
  {
    name: 'a path climbing out (../../sobjects/User)',
    path: '/v1/flows/../../sobjects/User/triggers',
    body: { triggers: [{ input: good }] },
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    name: 'an encoded path climbing out (..%2F..%2Fsobjects%2FUser)',
    path: '/v1/flows/..%2F..%2Fsobjects%2FUser/triggers',
    body: { triggers: [{ input: good }] },
    status: 400,
    code: 'INVALID_FLOW_NAME',
    names: /flow API name/,
  },
  {
    name: '%2e%2e as the flow',
    path: '/v1/flows/%2e%2e/triggers',
    body: { triggers: [{ input: good }] },
    status: 400,
    code: 'INVALID_FLOW_NAME',
  },
  {
    name: 'a 300-character flow name',
    path: `/v1/flows/${'A'.repeat(300)}/triggers`,
    body: { triggers: [{ input: good }] },
    status: 400,
    code: 'INVALID_FLOW_NAME',
    names: /at most 80/,
  },
  {
    name: 'a flow name with a NUL',
    path: '/v1/flows/Welcome%00/triggers',
    body: { triggers: [{ input: good }] },
    status: 400,
    code: 'INVALID_FLOW_NAME',
  },
  {
    name: 'broken percent-encoding',
    path: '/v1/flows/%zz/triggers',
    body: { triggers: [{ input: good }] },
    status: 400,
    code: 'INVALID_REQUEST',
    names: /percent-encoded/,
  },
  { name: 'a 10 MB+ body', body: bigBody(), status: 413, code: 'BODY_TOO_LARGE' },
  {
    name: 'a 10 MB+ body sent chunked (no Content-Length)',
    body: (async function* () {
      const piece = Buffer.from(bigBody());
      for (let i = 0; i < piece.length; i += 1 << 20) yield piece.subarray(i, i + (1 << 20));
    })(),
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    name: 'a __proto__ key',
    body: '{"triggers":[{"input":{"IndividualId":"0PK1","__proto__":{"isAdmin":true}}}]}',
    status: 400,
    code: 'FORBIDDEN_KEY',
    names: /__proto__/,
  },
  {
    name: 'an escaped __proto__ key',
    body: '{"\\u005f_proto__":{"x":1},"triggers":[{"input":{"IndividualId":"0PK1"}}]}',
    status: 400,
    code: 'FORBIDDEN_KEY',
  },
  {
    name: 'a constructor.prototype input',
    body: { triggers: [{ input: { ...good, constructor: { prototype: { x: 1 } } } }] },
    status: 400,
    code: 'INVALID_INPUT',
    names: /"constructor"/,
  },
  {
    name: 'deep nesting',
    body: { triggers: [{ input: { ...good, Profile: deep(30) } }] },
    status: 400,
    code: 'INVALID_INPUT',
    names: /nests deeper than 8 levels/,
  },
  {
    name: 'an input too big',
    body: { triggers: [{ input: { ...good, Note: 'x'.repeat(70_000) } }] },
    status: 400,
    code: 'INVALID_INPUT',
    names: /65536/,
  },
  {
    name: 'a trigger id that is not ours',
    method: 'GET',
    path: '/v1/triggers/..%2F..%2Fetc',
    status: 404,
    code: 'TRIGGER_NOT_FOUND',
  },
  { name: 'an unknown path', method: 'GET', path: '/v1/nothing', status: 404, code: 'NOT_FOUND' },
  // The drop-in endpoint answers request-level problems in Salesforce's shape.
  {
    name: 'drop-in: no token',
    path: DROP_IN,
    auth: false,
    body: { inputs: [good] },
    status: 401,
    code: 'INVALID_SESSION_ID',
  },
  {
    name: 'drop-in: malformed JSON',
    path: DROP_IN,
    body: '{"inputs":[',
    status: 400,
    code: 'JSON_PARSER_ERROR',
  },
  {
    name: 'drop-in: inputs not an array',
    path: DROP_IN,
    body: { inputs: good },
    status: 400,
    code: 'JSON_PARSER_ERROR',
    names: /inputs must be an array/,
  },
  {
    name: 'drop-in: a bad flow name',
    path: '/services/data/v65.0/actions/custom/flow/%2e%2e',
    body: { inputs: [good] },
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    name: 'drop-in: a bad API version',
    path: '/services/data/vX/actions/custom/flow/Welcome_SMS',
    body: { inputs: [good] },
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    // The rule of SF_API_VERSION: Salesforce's versions are NN.0.
    name: 'drop-in: an API version Salesforce never had',
    path: '/services/data/v65.1/actions/custom/flow/Welcome_SMS',
    body: { inputs: [good] },
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    name: 'drop-in: a 10 MB+ body',
    path: DROP_IN,
    body: bigBody().replace('"triggers"', '"inputs"'),
    status: 413,
    code: 'REQUEST_ENTITY_TOO_LARGE',
  },
  {
    name: 'drop-in: a __proto__ key',
    path: DROP_IN,
    body: '{"inputs":[{"IndividualId":"0PK1","__proto__":{"a":1}}]}',
    status: 400,
    code: 'JSON_PARSER_ERROR',
    names: /__proto__/,
  },
  {
    name: 'drop-in: a bad Idempotency-Key',
    path: DROP_IN,
    body: { inputs: [good] },
    headers: { 'idempotency-key': 'has spaces in it' },
    status: 400,
    code: 'JSON_PARSER_ERROR',
    names: /Idempotency-Key/,
  },
];

describe('ingest refuses bad requests', () => {
  let prefix: string;
  let ingest: { process: CliProcess; url: string };
  let client: IngestClient;

  beforeAll(async () => {
    prefix = uniquePrefix('ingest-bad');
    ingest = await startIngestProcess(
      ingestEnv(TEST_REDIS_URL, prefix, { INGEST_MAX_TRIGGERS_PER_REQUEST: '100' }),
    );
    client = new IngestClient(ingest.url);
  });

  afterAll(async () => {
    await client?.close();
    await ingest?.process.kill();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const answer = await client.request(c.method ?? 'POST', c.path ?? TRIGGERS, {
      ...(c.body !== undefined ? { body: c.body } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.auth === false ? { auth: false } : {}),
    });
    expect(answer.status).toBe(c.status);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    if ((c.path ?? TRIGGERS).startsWith('/services/')) {
      expect(answer.json).toEqual([{ errorCode: c.code, message: expect.any(String) }]);
      if (c.names) expect(answer.json[0].message).toMatch(c.names);
    } else {
      expect(answer.json).toEqual({ error: { code: c.code, message: expect.any(String) } });
      if (c.names) expect(answer.json.error.message).toMatch(c.names);
    }
    // Never a stack, a file path or a framework's own error body.
    expect(answer.text).not.toMatch(/\bat .+\.js|node_modules|statusCode|FST_/);
    // Nothing was enqueued: no key under the prefix (no job, no pending count, no flow) but the
    // partition count ingest recorded at start-up.
    expect(await keysUnder(TEST_REDIS_URL, prefix)).toEqual([`{${prefix}}:partitions`]);
  });

  it('stays up, and takes a good request after all of them', async () => {
    expect(ingest.process.child.exitCode).toBeNull();
    expect((await client.request('GET', '/healthz', { auth: false })).status).toBe(200);
    const answer = await client.trigger('Welcome_SMS', { input: good });
    expect(answer.status).toBe(202);
    expect(await stored(TEST_REDIS_URL, prefix, 'Welcome_SMS')).toEqual({
      pending: { Welcome_SMS: '1' },
      jobs: 1,
    });
    expect(ingest.process.output).not.toContain(TOKEN);
  });
});
