import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaults } from '@flow-dispatcher/shared/config';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientCredentialsTokenMinter } from './auth/client-credentials-token-minter.js';
import { SingleFlightTokenSource } from './auth/single-flight-token-source.js';
import { StaticTokenSource } from './auth/static-token-source.js';
import { SalesforceClient, type SalesforceClientOptions } from './salesforce-client.js';
import type { TokenSource } from './types.js';

// This repository's packages/shared/fixtures/salesforce (from packages/salesforce/src).
const FIXTURES = new URL('shared/fixtures/salesforce/', new URL('../../', import.meta.url));
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

const SECRET = 'client-SECRET-9b2e71d4';
const INVOKE_PATH = '/services/data/v65.0/actions/custom/flow/Send_SMS';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Route = (req: Recorded, res: ServerResponse) => void;

/**
 * A loopback stand-in for the transport: a token endpoint that mints `00DFAKE!tok-N` tokens and an
 * API that answers 401 (fixture) to any token not in `validTokens`, then hands the request to
 * `route`. Only what each test needs; the real look-alike is packages/simulator.
 */
async function startFakeOrg() {
  const requests: Recorded[] = [];
  const tokenRequests: Recorded[] = [];
  const validTokens = new Set<string>();
  const state = {
    route: ((_req, res) =>
      json(res, 200, fixture('invoke-chatterPost-success-2inputs.json'))) as Route,
    tokenRoute: undefined as Route | undefined,
    unauthorizedBody: fixture('error-401-invalid-session-expired.json'),
    instanceUrl: '',
    minted: 0,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      if (recorded.url === '/services/oauth2/token') {
        tokenRequests.push(recorded);
        if (state.tokenRoute) return state.tokenRoute(recorded, res);
        state.minted += 1;
        const token = `00DFAKE!tok-${state.minted}`;
        validTokens.add(token);
        return json(
          res,
          200,
          JSON.stringify({
            access_token: token,
            instance_url: state.instanceUrl,
            token_type: 'Bearer',
            issued_at: String(Date.now()),
          }),
        );
      }
      requests.push(recorded);
      const token = recorded.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!validTokens.has(token)) return json(res, 401, state.unauthorizedBody);
      state.route(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.instanceUrl = url;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  cleanups.push(close);
  return { url, requests, tokenRequests, validTokens, state, close };
}

function json(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
  res.end(body);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** The options a worker passes by default, with a short request deadline. */
function optionsFor(tokens: TokenSource): SalesforceClientOptions {
  return {
    tokens,
    apiVersion: defaults.apiVersion,
    requestTimeoutMs: 5000,
    connectTimeoutMs: defaults.connectTimeoutMs,
    maxResponseBytes: defaults.maxResponseBytes,
    connections: defaults.maxConcurrency,
    describeTtlMs: defaults.describeTtlMs,
  };
}

function clientFor(tokens: TokenSource, options: Partial<SalesforceClientOptions> = {}) {
  const client = new SalesforceClient({ ...optionsFor(tokens), ...options });
  cleanups.push(() => client.close());
  return client;
}

function ccTokens(loginUrl: string) {
  return new SingleFlightTokenSource(
    new ClientCredentialsTokenMinter({
      loginUrl,
      clientId: 'consumer-key',
      clientSecret: SECRET,
      timeoutMs: 5000,
    }),
  );
}

const TWO_INPUTS = [
  { IndividualId: '0iiXXXXXXXXXXXXXXX', EmailAddress: 'a@b.com' },
  { IndividualId: '0iiYYYYYYYYYYYYYYY' },
];

/** Nothing the caller can see may hold a token or the client secret. */
function expectNoSecrets(value: unknown) {
  const text =
    value instanceof Error ? `${String(value)}\n${value.message}` : JSON.stringify(value);
  expect(text).not.toContain(SECRET);
  expect(text).not.toMatch(/00DFAKE!tok-\d/);
}

describe('SalesforceClient.invokeFlow', () => {
  it('mints lazily, posts {"inputs":[...]} with Bearer auth, and reports results and limits', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) =>
      json(res, 200, fixture('invoke-chatterPost-success-2inputs.json'), {
        'sforce-limit-info': 'api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)',
      });
    const tokens = ccTokens(org.url);
    const client = clientFor(tokens);
    expect(tokens.mints).toBe(0);
    expect(org.tokenRequests).toHaveLength(0);

    const started = performance.now();
    const outcome = await client.invokeFlow('Send_SMS', TWO_INPUTS);
    const elapsedMs = performance.now() - started;
    expect(outcome).toMatchObject({
      verdict: {
        kind: 'results',
        status: 200,
        inputs: [{ kind: 'succeeded' }, { kind: 'succeeded' }],
      },
      status: 200,
      attempts: 1,
      limitInfo: {
        apiUsage: { used: 25, max: 5000 },
        perAppApiUsage: { used: 17, max: 250, appName: 'sample-app' },
      },
    });
    // The exchange's own duration: a round trip takes some time, and no more than the whole call
    // (which also waited for the token).
    expect(outcome.durationMs).toBeGreaterThan(0);
    expect(outcome.durationMs).toBeLessThanOrEqual(elapsedMs);
    expect(org.tokenRequests).toHaveLength(1);
    const [request] = org.requests;
    expect(request).toMatchObject({ method: 'POST', url: INVOKE_PATH });
    expect(request?.headers.authorization).toBe('Bearer 00DFAKE!tok-1');
    expect(request?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(request?.body ?? '')).toEqual({ inputs: TWO_INPUTS });

    await client.invokeFlow('Send_SMS', TWO_INPUTS);
    expect(org.tokenRequests).toHaveLength(1);
    expect(tokens.mints).toBe(1);
  });

  it('sends its userAgent as User-Agent on every request, and refuses one that is no header value', async () => {
    const org = await startFakeOrg();
    org.state.route = (req, res) => {
      if (req.url === '/services/data/v65.0/limits')
        return json(res, 200, fixture('limits-response-simple-salesforce.json'));
      if (req.method === 'GET')
        return json(
          res,
          200,
          JSON.stringify({
            name: 'Send_SMS',
            label: 'Send SMS',
            type: 'FLOW',
            inputs: [],
            outputs: [],
          }),
        );
      return json(res, 200, fixture('invoke-chatterPost-success-2inputs.json'));
    };
    const agent = 'flow-dispatcher/0.1.0 (worker host-a:4242)';
    const client = clientFor(ccTokens(org.url), { userAgent: agent });
    await client.invokeFlow('Send_SMS', TWO_INPUTS);
    await client.describeFlow('Send_SMS');
    await client.getLimits();
    expect(org.requests.map((r) => [r.method, r.headers['user-agent']])).toEqual([
      ['POST', agent],
      ['GET', agent],
      ['GET', agent],
    ]);
    for (const bad of ['', 'line\nbreak', 'café']) {
      expect(
        () => new SalesforceClient({ ...optionsFor(ccTokens(org.url)), userAgent: bad }),
      ).toThrowError(expect.objectContaining({ code: 'invalid-option' }));
    }
  });

  it('reconciles an HTTP 400 per input', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) => json(res, 400, fixture('invoke-flow-all-failed-http400.json'));
    const outcome = await clientFor(ccTokens(org.url)).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({
      status: 400,
      verdict: { kind: 'results', inputs: [{ kind: 'permanent' }, { kind: 'permanent' }] },
    });
  });

  it('on 401 refreshes once and resends once', async () => {
    const org = await startFakeOrg();
    const tokens = ccTokens(org.url);
    const client = clientFor(tokens);
    await client.invokeFlow('Send_SMS', TWO_INPUTS);
    org.validTokens.clear(); // tok-1 expires

    const outcome = await client.invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({ verdict: { kind: 'results' }, attempts: 2, status: 200 });
    expect(org.tokenRequests).toHaveLength(2);
    expect(org.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer 00DFAKE!tok-1',
      'Bearer 00DFAKE!tok-1',
      'Bearer 00DFAKE!tok-2',
    ]);
  });

  it('20 parallel invokes hitting 401 share exactly one token request', async () => {
    const org = await startFakeOrg();
    const tokens = ccTokens(org.url);
    const client = clientFor(tokens);
    await client.invokeFlow('Send_SMS', TWO_INPUTS);
    expect(org.tokenRequests).toHaveLength(1);
    org.validTokens.clear();

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => client.invokeFlow('Send_SMS', TWO_INPUTS)),
    );
    expect(outcomes.every((o) => o.verdict.kind === 'results')).toBe(true);
    expect(outcomes.every((o) => o.attempts === 2)).toBe(true);
    expect(org.tokenRequests).toHaveLength(2);
    expect(tokens.mints).toBe(2);
  });

  it('"not valid for use with the REST API" is auth-misconfigured without a refresh', async () => {
    const org = await startFakeOrg();
    org.state.unauthorizedBody = fixture('error-401-invalid-session-not-valid-for-rest.json');
    org.state.route = (_req, res) =>
      json(res, 401, fixture('error-401-invalid-session-not-valid-for-rest.json'));
    const outcome = await clientFor(ccTokens(org.url)).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({
      verdict: { kind: 'auth-misconfigured' },
      attempts: 1,
      status: 401,
    });
    expect(outcome.verdict).toHaveProperty(
      'message',
      expect.stringContaining('configuration problem'),
    );
    expect(org.tokenRequests).toHaveLength(1);
    expectNoSecrets(outcome);
  });

  it('a second 401 after the refresh is auth-misconfigured', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) =>
      json(res, 401, fixture('error-401-invalid-session-expired.json'));
    const outcome = await clientFor(ccTokens(org.url)).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({
      verdict: { kind: 'auth-misconfigured' },
      attempts: 2,
      status: 401,
    });
    expect(org.tokenRequests).toHaveLength(2);
    expect(org.requests).toHaveLength(2);
    expectNoSecrets(outcome);
  });

  it('a refresh answered with an older token (another worker got it earlier) earns one more refresh', async () => {
    const org = await startFakeOrg();
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: org.url,
      clientId: 'consumer-key',
      clientSecret: SECRET,
      timeoutMs: 5000,
    });
    const older = await minter.mintToken(); // tok-1: what a shared cache hands back
    const first = await minter.mintToken(); // tok-2: what this process holds
    org.validTokens.clear(); // both expire
    let refreshes = 0;
    const shared: TokenSource = {
      mints: 0,
      getToken: async () => first,
      refresh: async () => (++refreshes === 1 ? older : minter.mintToken()),
    };
    const outcome = await clientFor(shared).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({ verdict: { kind: 'results' }, attempts: 3, status: 200 });
    expect(refreshes).toBe(2);
    expect(org.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer 00DFAKE!tok-2',
      'Bearer 00DFAKE!tok-1',
      'Bearer 00DFAKE!tok-3',
    ]);
  });

  it('a token endpoint refusing the refresh is auth-misconfigured, without the secret', async () => {
    const org = await startFakeOrg();
    const client = clientFor(ccTokens(org.url));
    await client.invokeFlow('Send_SMS', TWO_INPUTS);
    org.validTokens.clear();
    org.state.tokenRoute = (_req, res) =>
      json(res, 400, fixture('oauth-token-error-invalid-client-id.json'));

    const outcome = await client.invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({
      verdict: { kind: 'auth-misconfigured' },
      attempts: 1,
      status: 401,
    });
    expect(outcome.verdict).toHaveProperty('message', expect.stringContaining('invalid_client_id'));
    expectNoSecrets(outcome);
  });

  it('an unreachable token endpoint is connection-failed, not sent', async () => {
    const org = await startFakeOrg();
    org.state.tokenRoute = (_req, res) => json(res, 503, '');
    const outcome = await clientFor(ccTokens(org.url)).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({
      verdict: { kind: 'connection-failed', sent: false },
      attempts: 0,
    });
    expect(org.requests).toHaveLength(0);
    expectNoSecrets(outcome);
  });

  it('a fixed token rejected by Salesforce is auth-misconfigured naming SF_ACCESS_TOKEN', async () => {
    const org = await startFakeOrg();
    const tokens = new StaticTokenSource({ instanceUrl: org.url, accessToken: '00DFAKE!tok-99' });
    const outcome = await clientFor(tokens).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({ verdict: { kind: 'auth-misconfigured' }, attempts: 1 });
    expect(outcome.verdict).toHaveProperty('message', expect.stringContaining('SF_ACCESS_TOKEN'));
    expectNoSecrets(outcome);
  });

  it('a server that never answers is a timeout, sent', async () => {
    const org = await startFakeOrg();
    org.state.route = () => {};
    const client = clientFor(ccTokens(org.url), { requestTimeoutMs: 300 });
    const outcome = await client.invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({ verdict: { kind: 'timeout', sent: true }, attempts: 1 });
    expect(outcome.status).toBeUndefined();
    expect(outcome.durationMs).toBeGreaterThanOrEqual(250);
  });

  it('a refused connection is connection-failed, not sent', async () => {
    const org = await startFakeOrg();
    await org.close();
    const tokens = new StaticTokenSource({ instanceUrl: org.url, accessToken: '00DFAKE!tok-1' });
    const outcome = await clientFor(tokens).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({
      verdict: { kind: 'connection-failed', sent: false },
      attempts: 1,
    });
    expectNoSecrets(outcome);
  });

  it('a connection reset after the request is connection-failed, sent', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) => res.socket?.destroy();
    const outcome = await clientFor(ccTokens(org.url)).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({
      verdict: { kind: 'connection-failed', sent: true },
      attempts: 1,
    });
  });

  it.each([
    ['with content-length', true],
    ['chunked', false],
  ])(
    'an oversized answer (%s) is malformed-response and the client keeps working',
    async (_label, withLength) => {
      const org = await startFakeOrg();
      const big = JSON.stringify([
        {
          actionName: 'x',
          isSuccess: true,
          errors: null,
          outputValues: { pad: 'x'.repeat(200_000) },
        },
      ]);
      let calls = 0;
      org.state.route = (_req, res) => {
        calls += 1;
        if (calls > 1) return json(res, 200, fixture('invoke-chatterPost-success-2inputs.json'));
        res.writeHead(200, withLength ? { 'content-length': String(Buffer.byteLength(big)) } : {});
        if (withLength) res.end(big);
        else {
          for (let i = 0; i < big.length; i += 16_384) res.write(big.slice(i, i + 16_384));
          res.end();
        }
      };
      const client = clientFor(ccTokens(org.url), { maxResponseBytes: 4096 });
      const outcome = await client.invokeFlow('Send_SMS', [{ IndividualId: '0iiXXXXXXXXXXXXXXX' }]);
      expect(outcome).toMatchObject({
        verdict: { kind: 'malformed-response', status: 200 },
        status: 200,
      });
      const next = await client.invokeFlow('Send_SMS', TWO_INPUTS);
      expect(next.verdict.kind).toBe('results');
    },
  );

  it('503 with Retry-After is overloaded with the delay', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) =>
      json(res, 503, JSON.stringify([{ errorCode: 'SERVER_UNAVAILABLE', message: 'busy' }]), {
        'retry-after': '12',
      });
    const outcome = await clientFor(ccTokens(org.url)).invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome.verdict).toEqual({
      kind: 'overloaded',
      status: 503,
      retryAfterMs: 12_000,
      message: 'SERVER_UNAVAILABLE: busy',
    });
  });

  it('an aborted call is connection-failed; an AbortSignal.timeout is a timeout', async () => {
    const org = await startFakeOrg();
    org.state.route = () => {};
    const client = clientFor(ccTokens(org.url));
    const controller = new AbortController();
    const pending = client.invokeFlow('Send_SMS', TWO_INPUTS, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await pending).verdict).toMatchObject({ kind: 'connection-failed', sent: true });

    const timed = await client.invokeFlow('Send_SMS', TWO_INPUTS, {
      signal: AbortSignal.timeout(100),
    });
    expect(timed.verdict).toMatchObject({ kind: 'timeout', sent: true });
  });

  it('follows a token to another instance origin', async () => {
    const a = await startFakeOrg();
    const b = await startFakeOrg();
    const client = clientFor(ccTokens(a.url));
    await client.invokeFlow('Send_SMS', TWO_INPUTS);
    expect(a.requests).toHaveLength(1);

    // The org moved: A rejects tok-1, the next token names B, and B accepts it.
    a.validTokens.clear();
    a.state.instanceUrl = b.url;
    b.validTokens.add('00DFAKE!tok-2');
    const outcome = await client.invokeFlow('Send_SMS', TWO_INPUTS);
    expect(outcome).toMatchObject({ verdict: { kind: 'results' }, attempts: 2 });
    expect(a.requests).toHaveLength(2);
    expect(b.requests).toHaveLength(1);
    expect(b.requests[0]?.headers.authorization).toBe('Bearer 00DFAKE!tok-2');
  });

  it.each(['../../sobjects/User', '%2e%2e', 'a/b', 'x'.repeat(300), 'Send_SMS?x=1'])(
    'rejects flow name %j before any request',
    async (flow) => {
      const org = await startFakeOrg();
      const tokens = ccTokens(org.url);
      const client = clientFor(tokens);
      await expect(client.invokeFlow(flow, TWO_INPUTS)).rejects.toMatchObject({
        name: 'SalesforceUsageError',
        code: 'invalid-flow-name',
      });
      await expect(client.describeFlow(flow)).rejects.toMatchObject({ code: 'invalid-flow-name' });
      expect(org.requests).toHaveLength(0);
      expect(org.tokenRequests).toHaveLength(0);
    },
  );

  it('rejects empty or unserialisable inputs, and use after close', async () => {
    const org = await startFakeOrg();
    const client = clientFor(ccTokens(org.url));
    await expect(client.invokeFlow('Send_SMS', [])).rejects.toMatchObject({
      code: 'invalid-inputs',
    });
    await expect(client.invokeFlow('Send_SMS', [{ n: 1n }])).rejects.toMatchObject({
      code: 'invalid-inputs',
    });
    await client.close();
    await expect(client.invokeFlow('Send_SMS', TWO_INPUTS)).rejects.toMatchObject({
      code: 'client-closed',
    });
    expect(org.requests).toHaveLength(0);
  });
});

describe('SalesforceClient.describeFlow, listFlows, getLimits', () => {
  const describeBody = JSON.stringify({
    name: 'Send_SMS',
    label: 'Send SMS',
    type: 'FLOW',
    inputs: [{ name: 'IndividualId', type: 'STRING', required: true, maxOccurs: 1 }],
    outputs: [],
  });

  it('caches per flow and shares one request among concurrent callers', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) => setTimeout(() => json(res, 200, describeBody), 50);
    let nowMs = 1_000_000;
    const client = clientFor(ccTokens(org.url), { describeTtlMs: 60_000, clock: () => nowMs });

    const describes = await Promise.all(
      Array.from({ length: 10 }, () => client.describeFlow('Send_SMS')),
    );
    expect(org.requests).toHaveLength(1);
    expect(org.requests[0]).toMatchObject({ method: 'GET', url: INVOKE_PATH });
    expect(describes[0]).toEqual({
      name: 'Send_SMS',
      label: 'Send SMS',
      type: 'FLOW',
      inputs: [
        {
          name: 'IndividualId',
          type: 'STRING',
          required: true,
          maxOccurs: 1,
          description: null,
          label: null,
        },
      ],
      outputs: [],
    });
    await client.describeFlow('Send_SMS');
    expect(org.requests).toHaveLength(1);
    nowMs += 60_001;
    await client.describeFlow('Send_SMS');
    expect(org.requests).toHaveLength(2);
  });

  it('throws SalesforceRequestError flow-missing on 404 and does not cache it', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) => json(res, 404, fixture('error-404-flow-not-found.json'));
    const client = clientFor(ccTokens(org.url));
    const error = await client.describeFlow('Nope').catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'SalesforceRequestError',
      code: 'flow-missing',
      status: 404,
      verdict: { kind: 'flow-missing' },
    });
    await client.describeFlow('Nope').catch(() => {});
    expect(org.requests).toHaveLength(2);
  });

  it('rejects a truncated describe as malformed-response', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) => json(res, 200, fixture('describe-emailSimple-fragment.txt'));
    await expect(clientFor(ccTokens(org.url)).describeFlow('Send_SMS')).rejects.toMatchObject({
      name: 'SalesforceRequestError',
      code: 'malformed-response',
      status: 200,
    });
  });

  it('refreshes once on 401 for a describe too, and reports auth failures as errors', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) => json(res, 200, describeBody);
    const client = clientFor(ccTokens(org.url), { describeTtlMs: 0 });
    await client.describeFlow('Send_SMS');
    org.validTokens.clear();
    await expect(client.describeFlow('Send_SMS')).resolves.toMatchObject({ name: 'Send_SMS' });
    expect(org.tokenRequests).toHaveLength(2);

    org.state.route = (_req, res) =>
      json(res, 401, fixture('error-401-invalid-session-expired.json'));
    const error = await client.describeFlow('Send_SMS').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'auth-misconfigured', status: 401 });
    expectNoSecrets(error);
  });

  it('lists flows and reads the daily API limit', async () => {
    const org = await startFakeOrg();
    org.state.route = (req, res) => {
      if (req.url === '/services/data/v65.0/actions/custom/flow') {
        return json(
          res,
          200,
          JSON.stringify({ actions: [{ label: 'Send SMS', name: 'Send_SMS', type: 'FLOW' }] }),
        );
      }
      if (req.url === '/services/data/v65.0/limits')
        return json(res, 200, fixture('limits-response-simple-salesforce.json'));
      json(res, 404, fixture('error-404-flow-not-found.json'));
    };
    const client = clientFor(ccTokens(org.url));
    await expect(client.listFlows()).resolves.toEqual(['Send_SMS']);
    await expect(client.getLimits()).resolves.toEqual({
      dailyApiRequests: { max: 15000, remaining: 14998 },
    });
  });

  it('reports a spent daily allocation on /limits as daily-limit, and a refused describe as refused', async () => {
    const org = await startFakeOrg();
    org.state.route = (req, res) => {
      if (req.url === '/services/data/v65.0/limits')
        return json(res, 403, fixture('error-403-request-limit-exceeded-daily.json'));
      json(
        res,
        403,
        JSON.stringify([
          { message: 'insufficient access rights on entity', errorCode: 'INSUFFICIENT_ACCESS' },
        ]),
      );
    };
    const client = clientFor(ccTokens(org.url));
    await expect(client.getLimits()).rejects.toMatchObject({
      name: 'SalesforceRequestError',
      code: 'daily-limit',
      status: 403,
    });
    await expect(client.describeFlow('Send_SMS')).rejects.toMatchObject({
      name: 'SalesforceRequestError',
      code: 'refused',
      status: 403,
      verdict: { kind: 'refused', errorCode: 'INSUFFICIENT_ACCESS', scope: 'flow' },
    });
  });

  it('a list answer that is not a list is malformed-response', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) => json(res, 200, fixture('list-actions-custom.json'));
    await expect(clientFor(ccTokens(org.url)).listFlows()).rejects.toMatchObject({
      code: 'malformed-response',
    });
  });

  it('uses the configured API version', async () => {
    const org = await startFakeOrg();
    org.state.route = (_req, res) =>
      json(res, 200, fixture('limits-response-simple-salesforce.json'));
    await clientFor(ccTokens(org.url), { apiVersion: '66.0' }).getLimits();
    expect(org.requests[0]?.url).toBe('/services/data/v66.0/limits');
    // The rule of SF_API_VERSION itself (api-version.ts): NN.0 from 20.0 on, nothing else.
    for (const bad of ['v65', '65', '65.1', '650.0', '6.0', '19.0']) {
      expect(
        () => new SalesforceClient({ ...optionsFor(ccTokens(org.url)), apiVersion: bad }),
        bad,
      ).toThrow(/SF_API_VERSION/);
    }
  });
});
