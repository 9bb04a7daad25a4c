import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  clientCredentialsToken,
  closeAll,
  fixtureJson,
  start,
  tokenRequest,
} from './test-support.js';

afterEach(closeAll);

const clientForm = {
  grant_type: 'client_credentials',
  client_id: 'sim-client-id',
  client_secret: 'sim-client-secret',
};

describe('client credentials grant', () => {
  it('answers with the fixture key set, no expires_in and no refresh_token', async () => {
    const sim = await start();
    const reply = await tokenRequest(sim.url, clientForm);
    expect(reply.status).toBe(200);
    const body = reply.json as Record<string, string>;
    const fixture = fixtureJson('oauth-client-credentials-token-response.json') as object;
    expect(Object.keys(body)).toEqual(Object.keys(fixture));
    expect(body).not.toHaveProperty('expires_in');
    expect(body).not.toHaveProperty('refresh_token');
    expect(body.instance_url).toBe(sim.url);
    expect(body.token_type).toBe('Bearer');
    expect(body.token_format).toBe('opaque');
    expect(body.issued_at).toMatch(/^\d{13}$/);
    const expected = createHmac('sha256', 'sim-client-secret')
      .update(`${body.id}${body.issued_at}`)
      .digest('base64');
    expect(body.signature).toBe(expected);
    expect(sim.stats().tokenRequests).toEqual({ granted: 1, refused: 0 });
  });

  it('accepts the credentials in an Authorization: Basic header', async () => {
    const sim = await start();
    const basic = Buffer.from('sim-client-id:sim-client-secret').toString('base64');
    const reply = await tokenRequest(
      sim.url,
      { grant_type: 'client_credentials' },
      { authorization: `Basic ${basic}` },
    );
    expect(reply.status).toBe(200);
    const token = (reply.json as { access_token: string }).access_token;
    expect((await api(sim, token, '/services/data/v65.0/limits')).status).toBe(200);
  });

  it('refuses an unknown client id with the fixture body', async () => {
    const sim = await start();
    const reply = await tokenRequest(sim.url, { ...clientForm, client_id: 'nope' });
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual(fixtureJson('oauth-token-error-invalid-client-id.json'));
  });

  it('refuses a wrong secret and an unsupported grant, counting every refusal', async () => {
    const sim = await start();
    const wrongSecret = await tokenRequest(sim.url, { ...clientForm, client_secret: 'nope' });
    expect(wrongSecret.status).toBe(400);
    expect((wrongSecret.json as { error: string }).error).toBe('invalid_client');
    const password = await tokenRequest(sim.url, { grant_type: 'password' });
    expect(password.status).toBe(400);
    expect((password.json as { error: string }).error).toBe('unsupported_grant_type');
    expect(sim.stats().tokenRequests).toEqual({ granted: 0, refused: 2 });
  });

  it('uses configured credentials', async () => {
    const sim = await start({ auth: { clientId: 'my-id', clientSecret: 'my-secret' } });
    expect((await tokenRequest(sim.url, clientForm)).status).toBe(400);
    const reply = await tokenRequest(sim.url, {
      grant_type: 'client_credentials',
      client_id: 'my-id',
      client_secret: 'my-secret',
    });
    expect(reply.status).toBe(200);
  });
});

describe('JWT bearer grant', () => {
  let publicKeyPem: string;
  let privateKeyPem: string;
  beforeAll(() => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  });

  function sign(claims: Record<string, unknown>, key = privateKeyPem, alg = 'RS256'): string {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${encode({ alg, typ: 'JWT' })}.${encode(claims)}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
    return `${unsigned}.${signature}`;
  }

  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      iss: 'sim-client-id',
      sub: 'integration@example.com',
      aud: 'https://login.salesforce.com',
      exp: Math.floor(Date.now() / 1000) + 120,
      ...overrides,
    };
  }

  const jwtGrant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

  it('issues a token for a valid assertion, shaped like the fixture', async () => {
    const sim = await start({
      auth: { clientId: 'sim-client-id', clientSecret: 'x', jwtPublicKeyPem: publicKeyPem },
    });
    const reply = await tokenRequest(sim.url, { grant_type: jwtGrant, assertion: sign(claims()) });
    expect(reply.status).toBe(200);
    const body = reply.json as Record<string, string>;
    expect(Object.keys(body)).toEqual(
      Object.keys(fixtureJson('oauth-jwt-token-response-simple-salesforce.json') as object),
    );
    expect(body.instance_url).toBe(sim.url);
    expect((await api(sim, body.access_token ?? '', '/services/data/v65.0/limits')).status).toBe(
      200,
    );
  });

  it('accepts the test login URL and the simulator itself as audience', async () => {
    const sim = await start({ auth: { jwtPublicKeyPem: publicKeyPem } });
    for (const aud of ['https://test.salesforce.com', sim.url, [sim.url, 'other']]) {
      const reply = await tokenRequest(sim.url, {
        grant_type: jwtGrant,
        assertion: sign(claims({ aud })),
      });
      expect(reply.status).toBe(200);
    }
  });

  it('refuses bad assertions with the matching OAuth error', async () => {
    const sim = await start({ auth: { jwtPublicKeyPem: publicKeyPem } });
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const nowS = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      [sign(claims(), otherKey), 'invalid_grant'],
      [sign(claims(), privateKeyPem, 'HS256'), 'invalid_grant'],
      [sign(claims({ iss: 'someone-else' })), 'invalid_client_id'],
      [sign(claims({ sub: 'other@example.com' })), 'invalid_grant'],
      [sign(claims({ aud: 'https://evil.example.com' })), 'invalid_grant'],
      [sign(claims({ exp: nowS - 5 })), 'invalid_grant'],
      [sign(claims({ exp: nowS + 600 })), 'invalid_grant'],
      [sign(claims({ exp: undefined })), 'invalid_grant'],
      ['not.a.jwt', 'invalid_grant'],
      ['', 'invalid_grant'],
    ];
    for (const [assertion, error] of cases) {
      const reply = await tokenRequest(sim.url, { grant_type: jwtGrant, assertion });
      expect(reply.status, assertion).toBe(400);
      expect((reply.json as { error: string }).error, assertion).toBe(error);
    }
    expect(sim.stats().tokenRequests).toEqual({ granted: 0, refused: cases.length });
  });

  it('refuses the JWT grant when no public key is configured', async () => {
    const sim = await start();
    const reply = await tokenRequest(sim.url, { grant_type: jwtGrant, assertion: sign(claims()) });
    expect(reply.status).toBe(400);
    expect((reply.json as { error: string }).error).toBe('invalid_grant');
  });
});

describe('sessions on /services/data', () => {
  it('answers 401 INVALID_SESSION_ID without, or with a bad, bearer token', async () => {
    const sim = await start();
    const expected = fixtureJson('error-401-invalid-session-expired.json');
    for (const token of [null, 'garbage']) {
      const reply = await api(sim, token, '/services/data/v65.0/limits');
      expect(reply.status).toBe(401);
      expect(reply.json).toEqual(expected);
      expect(reply.headers.get('sforce-limit-info')).toBe('api-usage=0/100000, api-bursts=0/750');
    }
    const invoke = await api(
      sim,
      'garbage',
      '/services/data/v65.0/actions/custom/flow/Welcome_SMS',
      {
        method: 'POST',
        body: '{"inputs":[{"IndividualId":"x"}]}',
      },
    );
    expect(invoke.status).toBe(401);
    expect(invoke.json).toEqual(expected);
    expect(sim.stats().apiUsage.used).toBe(0);
    expect(sim.deliveries().size).toBe(0);
  });

  it('expires tokens after tokenTtlMs', async () => {
    const sim = await start({ tokenTtlMs: 600 });
    const token = await clientCredentialsToken(sim);
    expect((await api(sim, token, '/services/data/v65.0/limits')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 750));
    const reply = await api(sim, token, '/services/data/v65.0/limits');
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual(fixtureJson('error-401-invalid-session-expired.json'));
    const fresh = await clientCredentialsToken(sim);
    expect((await api(sim, fresh, '/services/data/v65.0/limits')).status).toBe(200);
  });

  it('expireTokens() invalidates every issued token, not the static ones', async () => {
    const sim = await start({ staticTokens: ['dev-token'] });
    const a = await clientCredentialsToken(sim);
    const b = await clientCredentialsToken(sim);
    sim.expireTokens();
    for (const token of [a, b]) {
      expect((await api(sim, token, '/services/data/v65.0/limits')).status).toBe(401);
    }
    expect((await api(sim, 'dev-token', '/services/data/v65.0/limits')).status).toBe(200);
    const c = await clientCredentialsToken(sim);
    expect((await api(sim, c, '/services/data/v65.0/limits')).status).toBe(200);
  });

  it('answers "not valid for use with the REST API" when REST is disabled for the session', async () => {
    const sim = await start({ restApiDisabled: true });
    const token = await clientCredentialsToken(sim);
    const reply = await api(sim, token, '/services/data/v65.0/actions/custom/flow/Welcome_SMS');
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual(fixtureJson('error-401-invalid-session-not-valid-for-rest.json'));
    sim.configure({ restApiDisabled: false });
    expect((await api(sim, token, '/services/data/v65.0/limits')).status).toBe(200);
  });
});
