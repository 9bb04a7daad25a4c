import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { z } from 'zod';
import { SalesforceAuthError, SalesforceUsageError } from '../errors.js';
import { exchange } from '../http-exchange.js';
import { parseJsonOrUndefined } from '../json-body.js';
import type { AccessToken } from '../types.js';

/**
 * `POST {loginUrl}/services/oauth2/token` (docs/salesforce-api.md, Authentication), shared by the
 * client-credentials and JWT bearer minters. Answers carry no `expires_in` and no refresh token;
 * `issued_at` is epoch ms as a string. Failures become `SalesforceAuthError`s whose message, cause
 * and fields are built only from the HTTP status and the OAuth `error` / `error_description`, with
 * every secret of the request redacted from them: never the secret, the assertion or a token.
 */

/** Largest token answer read: a token answer is well under 2 KiB, so a larger one is not one. */
const TOKEN_ANSWER_MAX_BYTES = 64 * 1024;

export interface TokenRequest {
  /** `SF_LOGIN_URL`: the org's My Domain URL, or login/test.salesforce.com for JWT bearer. */
  loginUrl: string;
  /** Form fields, sent `application/x-www-form-urlencoded`. */
  form: Record<string, string>;
  /** Grant name for messages (`client credentials`, `JWT bearer`). */
  grantLabel: string;
  /** Values that must never appear in an error (client secret, assertion). */
  secrets: readonly string[];
  /** Defaults to undici's global dispatcher. */
  dispatcher?: Dispatcher;
  /** Deadline for one token request, from connect to the last byte. */
  timeoutMs: number;
  /** Epoch ms, for tokens without `issued_at`. Defaults to `Date.now`. */
  clock?: () => number;
}

/** `{loginUrl}/services/oauth2/token`, keeping a path prefix (Experience Cloud sites have one). */
export function tokenEndpointUrl(loginUrl: string): URL {
  let url: URL;
  try {
    url = new URL(loginUrl);
  } catch (cause) {
    throw new SalesforceUsageError('invalid-option', 'SF_LOGIN_URL is not a valid URL', { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SalesforceUsageError('invalid-option', 'SF_LOGIN_URL must be an https:// URL');
  }
  const prefix = url.pathname.replace(/\/+$/, '');
  return new URL(`${url.origin}${prefix}/services/oauth2/token`);
}

/** Requests a token once. Rejects with `SalesforceAuthError` on every failure. */
export async function requestToken(request: TokenRequest): Promise<AccessToken> {
  const url = tokenEndpointUrl(request.loginUrl);
  const clock = request.clock ?? Date.now;
  const redact = redactor(request.secrets);
  const result = await exchange(request.dispatcher ?? getGlobalDispatcher(), {
    origin: url.origin,
    method: 'POST',
    path: url.pathname,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams(request.form).toString(),
    timeoutMs: request.timeoutMs,
    maxResponseBytes: TOKEN_ANSWER_MAX_BYTES,
  });
  const what = `${request.grantLabel} token request to ${url.origin}`;

  if (result.kind === 'transport-error') {
    const reason = redact(describeTransport(result.error));
    throw new SalesforceAuthError('token-endpoint-unavailable', `${what} failed: ${reason}`, {
      cause: result.error,
      retryable: true,
    });
  }
  if (result.kind === 'too-large') {
    throw new SalesforceAuthError(
      'token-response-invalid',
      `${what}: answer over ${TOKEN_ANSWER_MAX_BYTES} bytes (HTTP ${result.status})`,
      { status: result.status },
    );
  }

  const { status } = result;
  const json = parseJsonOrUndefined(result.body);
  if (status >= 200 && status < 300) {
    const token = parseTokenResponse(json, clock());
    if (token) return token;
    // Never quote the body: a half-valid answer may still hold a token.
    throw new SalesforceAuthError(
      'token-response-invalid',
      `${what}: HTTP ${status} without a usable access_token and instance_url`,
      { status },
    );
  }

  const oauth = parseTokenError(json);
  const safe = oauth
    ? { error: redact(oauth.error), description: oauth.description && redact(oauth.description) }
    : undefined;
  const detail = safe
    ? `${safe.error}${safe.description ? ` (${safe.description})` : ''}`
    : 'no OAuth error in the answer';
  const retryable = status >= 500 || status === 429;
  const hint = retryable
    ? ''
    : ': check SF_LOGIN_URL and the credentials (SF_CLIENT_ID, SF_CLIENT_SECRET or SF_USERNAME, SF_PRIVATE_KEY_FILE)';
  throw new SalesforceAuthError(
    retryable ? 'token-endpoint-unavailable' : 'token-rejected',
    `${what} refused: HTTP ${status}, ${detail}${hint}`,
    {
      status,
      retryable,
      ...(safe ? { oauthError: safe.error } : {}),
      cause: { status, error: safe?.error ?? null, error_description: safe?.description ?? null },
    },
  );
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  instance_url: z.url({ protocol: /^https?$/ }),
  issued_at: z.unknown().optional(),
});

/**
 * A token answer (`access_token`, `instance_url`, optional `issued_at` in epoch ms as a string),
 * or `undefined` when `body` (parsed JSON) lacks a token or an instance URL.
 */
export function parseTokenResponse(body: unknown, nowMs: number): AccessToken | undefined {
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { access_token, instance_url, issued_at } = parsed.data;
  const issuedAt =
    typeof issued_at === 'string' || typeof issued_at === 'number' ? Number(issued_at) : NaN;
  return {
    accessToken: access_token,
    instanceUrl: new URL(instance_url).origin,
    issuedAt: Number.isSafeInteger(issuedAt) && issuedAt > 0 ? issuedAt : nowMs,
  };
}

const tokenErrorSchema = z.object({
  error: z.string().min(1),
  error_description: z
    .unknown()
    .optional()
    .transform((v) => (typeof v === 'string' ? v : null)),
});

/** `{"error":"invalid_client_id","error_description":"client identifier invalid"}`. */
export function parseTokenError(
  body: unknown,
): { error: string; description: string | null } | undefined {
  const parsed = tokenErrorSchema.safeParse(body);
  return parsed.success
    ? {
        error: parsed.data.error.slice(0, 100),
        description: parsed.data.error_description?.slice(0, 500) ?? null,
      }
    : undefined;
}

/** Replaces every occurrence of a secret (and its URL-encoded form) in a text. */
function redactor(secrets: readonly string[]): (text: string) => string {
  const needles = secrets
    .filter((s) => s.length >= 4)
    .flatMap((s) => [s, encodeURIComponent(s), new URLSearchParams({ s }).toString().slice(2)]);
  return (text) => {
    let out = text;
    for (const needle of needles) out = out.split(needle).join('[redacted]');
    return out;
  };
}

function describeTransport(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
