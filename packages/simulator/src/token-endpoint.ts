import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendHtmlError, sendJson } from './http-exchange.js';
import { publicKeyFromPem, verifyJwtAssertion } from './jwt-assertion.js';
import type { SimulatorContext } from './simulator-context.js';
import { orgId, userId } from './token-store.js';

const jwtGrantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Salesforce refuses JWT assertions whose `exp` is more than 3 minutes ahead. */
const jwtMaxAheadMs = 3 * 60 * 1000;
const jwtSkewMs = 30 * 1000;
const maxFormBytes = 64 * 1024;
const noStore = { 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' };

/**
 * `POST /services/oauth2/token`: the client-credentials and JWT-bearer grants (docs/salesforce-api.md#authentication).
 * Success bodies carry no `expires_in` and no `refresh_token`, like Salesforce's; errors are
 * HTTP 400 `{"error","error_description"}`.
 */
export async function handleTokenRequest(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    refuse(ctx, res, 'invalid_request', 'must use HTTP POST');
    return;
  }
  const read = await readBody(req, maxFormBytes);
  if (read.kind === 'aborted') return;
  if (read.kind === 'too-large') {
    ctx.counters.tokensRefused++;
    sendHtmlError(res, 413, 'Request Entity Too Large', { connection: 'close' });
    return;
  }
  const form = new URLSearchParams(read.body.toString('utf8'));
  const grantType = form.get('grant_type');
  if (grantType === 'client_credentials') {
    clientCredentials(ctx, req, res, form);
  } else if (grantType === jwtGrantType) {
    jwtBearer(ctx, res, form);
  } else {
    refuse(ctx, res, 'unsupported_grant_type', 'grant type not supported');
  }
}

function clientCredentials(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  form: URLSearchParams,
): void {
  const basic = basicCredentials(req.headers.authorization);
  const clientId = basic?.id ?? form.get('client_id');
  const clientSecret = basic?.secret ?? form.get('client_secret');
  const { auth } = ctx.config;
  if (!sameCredential(clientId, auth.clientId)) {
    refuse(ctx, res, 'invalid_client_id', 'client identifier invalid');
    return;
  }
  if (!sameCredential(clientSecret, auth.clientSecret)) {
    refuse(ctx, res, 'invalid_client', 'invalid client credentials');
    return;
  }
  const nowMs = Date.now();
  const id = identityUrl(ctx);
  const issuedAt = String(nowMs);
  const signature = createHmac('sha256', auth.clientSecret)
    .update(id + issuedAt)
    .digest('base64');
  ctx.counters.tokensGranted++;
  sendJson(
    res,
    200,
    JSON.stringify({
      access_token: ctx.tokens.issue(nowMs, ctx.config.tokenTtlMs),
      signature,
      token_format: 'opaque',
      instance_url: ctx.url,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    }),
    noStore,
  );
}

function jwtBearer(ctx: SimulatorContext, res: ServerResponse, form: URLSearchParams): void {
  const { auth } = ctx.config;
  const assertion = form.get('assertion');
  if (assertion === null || assertion === '') {
    refuse(ctx, res, 'invalid_grant', 'invalid assertion');
    return;
  }
  if (auth.jwtPublicKeyPem === undefined) {
    refuse(ctx, res, 'invalid_grant', 'no certificate is configured for this client');
    return;
  }
  const nowMs = Date.now();
  const verdict = verifyJwtAssertion(assertion, {
    publicKey: publicKeyFromPem(auth.jwtPublicKeyPem),
    issuer: auth.clientId,
    subject: auth.username ?? '',
    audiences: auth.jwtAudiences ?? [
      'https://login.salesforce.com',
      'https://test.salesforce.com',
      ctx.url,
    ],
    nowMs,
    maxAheadMs: jwtMaxAheadMs,
    skewMs: jwtSkewMs,
  });
  if (!verdict.ok) {
    refuse(ctx, res, verdict.error, verdict.description);
    return;
  }
  ctx.counters.tokensGranted++;
  sendJson(
    res,
    200,
    JSON.stringify({
      access_token: ctx.tokens.issue(nowMs, ctx.config.tokenTtlMs),
      scope: 'api',
      instance_url: ctx.url,
      id: identityUrl(ctx),
      token_type: 'Bearer',
    }),
    noStore,
  );
}

function refuse(
  ctx: SimulatorContext,
  res: ServerResponse,
  error: string,
  description: string,
): void {
  ctx.counters.tokensRefused++;
  sendJson(res, 400, JSON.stringify({ error, error_description: description }), noStore);
}

function identityUrl(ctx: SimulatorContext): string {
  return `${ctx.url}/id/${orgId}/${userId}`;
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  if (header === undefined || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * RFC 6749 §2.3.1 form-encodes id and secret before base64, while simple-salesforce sends them
 * as they are: accept both.
 */
function sameCredential(given: string | null, expected: string): boolean {
  return given !== null && (given === expected || formDecode(given) === expected);
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return value;
  }
}
