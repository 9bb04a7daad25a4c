import { generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { SalesforceAuthError } from '../errors.js';
import { ClientCredentialsTokenMinter } from './client-credentials-token-minter.js';
import {
  buildJwtAssertion,
  JWT_BEARER_GRANT_TYPE,
  JwtBearerTokenMinter,
  jwtAudienceFor,
  loadPrivateKey,
} from './jwt-bearer-token-minter.js';
import { tokenEndpointUrl } from './token-endpoint.js';

// This repository's packages/shared/fixtures/salesforce (from packages/salesforce/src/auth).
const FIXTURES = new URL('shared/fixtures/salesforce/', new URL('../../../', import.meta.url));
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

const SECRET = 'cs-SECRET-3f9a1c7e/+=&%';
/** A token request's deadline here: loopback answers come in milliseconds. */
const TOKEN_TIMEOUT_MS = 5_000;

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A loopback HTTP server standing in for the token endpoint (transport test double only). */
async function startServer(
  answer: (req: Recorded, res: ServerResponse) => void,
): Promise<{ url: string; requests: Recorded[]; close: () => Promise<void> }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      answer(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const send = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
};

/** Everything an error could leak through: message, String(), inspect() with its cause. */
const everythingShown = (error: unknown) =>
  [
    String(error),
    (error as Error).message,
    inspect(error, { depth: 5 }),
    JSON.stringify(error),
  ].join('\n');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
async function server(answer: (req: Recorded, res: ServerResponse) => void) {
  const s = await startServer(answer);
  cleanups.push(s.close);
  return s;
}

describe('tokenEndpointUrl', () => {
  it.each([
    ['https://org.my.salesforce.com', 'https://org.my.salesforce.com/services/oauth2/token'],
    ['https://org.my.salesforce.com/', 'https://org.my.salesforce.com/services/oauth2/token'],
    ['https://site.force.com/customers/', 'https://site.force.com/customers/services/oauth2/token'],
  ])('%s', (login, expected) => {
    expect(tokenEndpointUrl(login).href).toBe(expected);
  });

  it.each(['nope', 'ftp://x'])('refuses %s naming SF_LOGIN_URL', (login) => {
    expect(() => tokenEndpointUrl(login)).toThrow(/SF_LOGIN_URL/);
  });
});

describe('client-credentials token minter', () => {
  it('posts the form-encoded grant and parses the documented answer', async () => {
    const s = await server((_req, res) =>
      send(res, 200, fixture('oauth-client-credentials-token-response.json')),
    );
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'consumer-key',
      clientSecret: SECRET,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    const token = await minter.mintToken();
    expect(token).toEqual({
      accessToken: expect.stringMatching(/^00DS7000000oxzo!/),
      instanceUrl: 'https://instance_name.my.salesforce.com',
      issuedAt: 1678833535086,
    });
    expect(s.requests).toHaveLength(1);
    const [request] = s.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/services/oauth2/token');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'consumer-key',
      client_secret: SECRET,
    });
  });

  it('turns invalid_client_id into token-rejected without the secret', async () => {
    const s = await server((_req, res) =>
      send(res, 400, fixture('oauth-token-error-invalid-client-id.json')),
    );
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'id',
      clientSecret: SECRET,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    const error = await minter.mintToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SalesforceAuthError);
    expect(error).toMatchObject({
      name: 'SalesforceAuthError',
      code: 'token-rejected',
      status: 400,
      oauthError: 'invalid_client_id',
      retryable: false,
      cause: {
        status: 400,
        error: 'invalid_client_id',
        error_description: 'client identifier invalid',
      },
    });
    expect((error as Error).message).toContain('invalid_client_id (client identifier invalid)');
    expect(everythingShown(error)).not.toContain(SECRET);
  });

  it.each([
    ['invalid_grant', 'authentication failure'],
    ['invalid_client', 'invalid client credentials'],
  ])('%s is token-rejected', async (oauthError, description) => {
    const s = await server((_req, res) =>
      send(res, 400, JSON.stringify({ error: oauthError, error_description: description })),
    );
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'id',
      clientSecret: SECRET,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    await expect(minter.mintToken()).rejects.toMatchObject({ code: 'token-rejected', oauthError });
  });

  it('redacts a secret the endpoint echoes back', async () => {
    const s = await server((req, res) => {
      const echoed = new URLSearchParams(req.body).get('client_secret');
      send(
        res,
        401,
        JSON.stringify({
          error: 'invalid_client',
          error_description: `bad secret ${echoed} / ${encodeURIComponent(echoed ?? '')}`,
        }),
      );
    });
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'id',
      clientSecret: SECRET,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    const error = await minter.mintToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'token-rejected' });
    expect((error as Error).message).toContain('[redacted]');
    expect(everythingShown(error)).not.toContain(SECRET);
    expect(everythingShown(error)).not.toContain(encodeURIComponent(SECRET));
  });

  it('a 5xx is token-endpoint-unavailable and retryable', async () => {
    const s = await server((_req, res) => send(res, 503, '<html>down</html>'));
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'id',
      clientSecret: SECRET,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    await expect(minter.mintToken()).rejects.toMatchObject({
      code: 'token-endpoint-unavailable',
      retryable: true,
      status: 503,
    });
  });

  it('a 200 without a usable token is token-response-invalid and never quotes the body', async () => {
    const s = await server((_req, res) =>
      send(res, 200, JSON.stringify({ access_token: 'LEAKY-TOKEN-123' })),
    );
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'id',
      clientSecret: SECRET,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    const error = await minter.mintToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'token-response-invalid', status: 200 });
    expect(everythingShown(error)).not.toContain('LEAKY-TOKEN-123');
  });

  it('a network failure is token-endpoint-unavailable with the transport error as cause', async () => {
    const s = await startServer(() => {});
    await s.close();
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'id',
      clientSecret: SECRET,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    const error = await minter.mintToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'token-endpoint-unavailable', retryable: true });
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(everythingShown(error)).not.toContain(SECRET);
  });

  it('a token endpoint that never answers times out as token-endpoint-unavailable', async () => {
    const s = await server(() => {});
    const minter = new ClientCredentialsTokenMinter({
      loginUrl: s.url,
      clientId: 'id',
      clientSecret: SECRET,
      timeoutMs: 200,
    });
    await expect(minter.mintToken()).rejects.toMatchObject({
      code: 'token-endpoint-unavailable',
      retryable: true,
    });
  });
});

describe('JWT bearer', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const NOW_MS = 1_750_000_000_500;

  const decode = (assertion: string) => {
    const [header, claims, signature] = assertion.split('.');
    return {
      header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString()) as unknown,
      claims: JSON.parse(Buffer.from(claims ?? '', 'base64url').toString()) as Record<
        string,
        unknown
      >,
      verified: verify(
        'sha256',
        Buffer.from(`${header}.${claims}`),
        publicKey,
        Buffer.from(signature ?? '', 'base64url'),
      ),
    };
  };

  it('signs an RS256 assertion that verifies with the public key and carries the claims', () => {
    const assertion = buildJwtAssertion(
      {
        clientId: 'consumer-key',
        username: 'api@example.com',
        audience: 'https://login.salesforce.com',
        nowMs: NOW_MS,
      },
      privateKey,
    );
    const { header, claims, verified } = decode(assertion);
    expect(verified).toBe(true);
    expect(header).toEqual({ alg: 'RS256' });
    expect(claims).toEqual({
      iss: 'consumer-key',
      sub: 'api@example.com',
      aud: 'https://login.salesforce.com',
      exp: Math.floor((NOW_MS + 180_000) / 1000),
    });
    expect((claims.exp as number) * 1000 - NOW_MS).toBeLessThanOrEqual(180_000);
  });

  it('never sets exp more than 3 minutes ahead', () => {
    const assertion = buildJwtAssertion(
      { clientId: 'c', username: 'u', audience: 'a', nowMs: NOW_MS, lifetimeMs: 3_600_000 },
      privateKey,
    );
    expect(decode(assertion).claims.exp).toBe(Math.floor((NOW_MS + 180_000) / 1000));
  });

  it.each([
    ['https://login.salesforce.com', 'https://login.salesforce.com'],
    ['https://test.salesforce.com', 'https://test.salesforce.com'],
    ['https://acme.my.salesforce.com', 'https://login.salesforce.com'],
    ['https://acme--uat.sandbox.my.salesforce.com', 'https://test.salesforce.com'],
    ['https://acme--uat.my.salesforce.com', 'https://test.salesforce.com'],
    ['https://fun-dev-ed.scratch.my.salesforce.com', 'https://test.salesforce.com'],
    ['https://acme-dev-ed.develop.my.salesforce.com', 'https://login.salesforce.com'],
    ['not a url', 'https://login.salesforce.com'],
  ])('audience for %s is %s', (loginUrl, audience) => {
    expect(jwtAudienceFor(loginUrl)).toBe(audience);
  });

  it('mints through the token endpoint with a verifiable assertion', async () => {
    let claims: Record<string, unknown> | undefined;
    const s = await server((req, res) => {
      const form = new URLSearchParams(req.body);
      const decoded = decode(form.get('assertion') ?? '');
      claims = decoded.claims;
      if (form.get('grant_type') !== JWT_BEARER_GRANT_TYPE || !decoded.verified) {
        send(
          res,
          400,
          JSON.stringify({ error: 'invalid_grant', error_description: 'bad assertion' }),
        );
        return;
      }
      send(res, 200, fixture('oauth-jwt-token-response-simple-salesforce.json'));
    });
    const minter = new JwtBearerTokenMinter({
      loginUrl: s.url,
      clientId: 'consumer-key',
      username: 'api@example.com',
      privateKey: privatePem,
      clock: () => NOW_MS,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    await expect(minter.mintToken()).resolves.toEqual({
      accessToken: '12345',
      instanceUrl: 'https://na15.salesforce.com',
      issuedAt: NOW_MS,
    });
    expect(claims).toMatchObject({
      iss: 'consumer-key',
      sub: 'api@example.com',
      aud: 'https://login.salesforce.com',
    });
  });

  it('a refused assertion never shows up in the error', async () => {
    let assertion = '';
    const s = await server((req, res) => {
      assertion = new URLSearchParams(req.body).get('assertion') ?? '';
      send(
        res,
        400,
        JSON.stringify({
          error: 'invalid_grant',
          error_description: `user hasn't approved this consumer: ${assertion}`,
        }),
      );
    });
    const minter = new JwtBearerTokenMinter({
      loginUrl: s.url,
      clientId: 'c',
      username: 'u',
      privateKey: privatePem,
      timeoutMs: TOKEN_TIMEOUT_MS,
    });
    const error = await minter.mintToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'token-rejected', oauthError: 'invalid_grant' });
    expect(assertion.length).toBeGreaterThan(100);
    expect(everythingShown(error)).not.toContain(assertion);
    expect(everythingShown(error)).not.toContain(assertion.split('.')[2] ?? 'x');
  });

  it('refuses a key that is not an RSA private key, without quoting it', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const options = {
      loginUrl: 'https://login.salesforce.com',
      clientId: 'c',
      username: 'u',
      timeoutMs: TOKEN_TIMEOUT_MS,
    };
    for (const key of [
      ec,
      'garbage',
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    ]) {
      let error: unknown;
      try {
        new JwtBearerTokenMinter({ ...options, privateKey: key });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'private-key-invalid' });
      expect(everythingShown(error)).not.toContain('PRIVATE KEY-----\nMI');
    }
  });

  it('loadPrivateKey names SF_PRIVATE_KEY_FILE when the file is missing or not a key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fd-key-'));
    const missing = join(dir, 'missing.pem');
    expect(() => loadPrivateKey(missing)).toThrow(
      expect.objectContaining({
        code: 'private-key-unreadable',
        message: expect.stringMatching(/SF_PRIVATE_KEY_FILE.*missing\.pem.*ENOENT/),
      }),
    );
    const bad = join(dir, 'bad.pem');
    await writeFile(bad, 'not a key');
    expect(() => loadPrivateKey(bad)).toThrow(
      expect.objectContaining({
        code: 'private-key-invalid',
        message: expect.stringContaining('SF_PRIVATE_KEY_FILE'),
      }),
    );
    const good = join(dir, 'good.pem');
    await writeFile(good, privatePem);
    expect(loadPrivateKey(good)).toBe(privatePem);
    await rm(dir, { recursive: true, force: true });
  });
});
