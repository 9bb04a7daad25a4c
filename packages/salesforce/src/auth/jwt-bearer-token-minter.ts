import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import { SalesforceAuthError, SalesforceUsageError } from '../errors.js';
import type { AccessToken, TokenMinter } from '../types.js';
import { requestToken, tokenEndpointUrl } from './token-endpoint.js';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Salesforce refuses an assertion whose `exp` is more than 3 minutes ahead. */
export const JWT_MAX_LIFETIME_MS = 180_000;

export interface JwtBearerOptions {
  /** `SF_LOGIN_URL`: login.salesforce.com, test.salesforce.com or the My Domain URL. */
  loginUrl: string;
  /** `SF_CLIENT_ID`: the consumer key, the `iss` claim. */
  clientId: string;
  /** `SF_USERNAME`: the pre-approved user, the `sub` claim. */
  username: string;
  /** RSA private key, PEM text or a KeyObject (see `loadPrivateKey`). */
  privateKey: string | KeyObject;
  /** The `aud` claim. @defaultValue `jwtAudienceFor(loginUrl)` */
  audience?: string;
  /** How far ahead `exp` is set, capped at 3 minutes. @defaultValue 180000 */
  assertionLifetimeMs?: number;
  /** Defaults to undici's global dispatcher. */
  dispatcher?: Dispatcher;
  /** Deadline of one token request, from connect to the last byte. */
  timeoutMs: number;
  /** Epoch ms. @defaultValue Date.now */
  clock?: () => number;
}

/**
 * OAuth 2.0 JWT bearer flow (docs/salesforce-api.md, Authentication): an RS256 assertion with iss =
 * consumer key, sub = username, aud = login host, exp ≤ 3 min ahead, posted as
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`.
 */
export class JwtBearerTokenMinter implements TokenMinter {
  readonly #options: JwtBearerOptions;
  readonly #key: KeyObject;
  readonly #audience: string;

  constructor(options: JwtBearerOptions) {
    tokenEndpointUrl(options.loginUrl); // validates SF_LOGIN_URL
    if (!options.clientId || !options.username) {
      throw new SalesforceUsageError(
        'invalid-option',
        'the JWT bearer flow needs SF_CLIENT_ID and SF_USERNAME',
      );
    }
    this.#key = toRsaPrivateKey(options.privateKey, 'the JWT bearer private key');
    this.#audience = options.audience ?? jwtAudienceFor(options.loginUrl);
    this.#options = { ...options };
  }

  mintToken(): Promise<AccessToken> {
    const { loginUrl, clientId, username, assertionLifetimeMs, dispatcher, timeoutMs, clock } =
      this.#options;
    const assertion = buildJwtAssertion(
      {
        clientId,
        username,
        audience: this.#audience,
        nowMs: (clock ?? Date.now)(),
        lifetimeMs: assertionLifetimeMs,
      },
      this.#key,
    );
    return requestToken({
      loginUrl,
      grantLabel: 'JWT bearer',
      form: { grant_type: JWT_BEARER_GRANT_TYPE, assertion },
      secrets: [assertion],
      dispatcher,
      timeoutMs,
      clock,
    });
  }
}

export interface JwtClaimsInput {
  clientId: string;
  username: string;
  audience: string;
  nowMs: number;
  /** @defaultValue 180000, capped there */
  lifetimeMs?: number | undefined;
}

/** A signed RS256 JWT (`header.claims.signature`, base64url) for the JWT bearer flow. */
export function buildJwtAssertion(input: JwtClaimsInput, privateKey: KeyObject): string {
  const lifetimeMs = Math.min(input.lifetimeMs ?? JWT_MAX_LIFETIME_MS, JWT_MAX_LIFETIME_MS);
  const header = { alg: 'RS256' };
  const claims = {
    iss: input.clientId,
    sub: input.username,
    aud: input.audience,
    exp: Math.floor((input.nowMs + lifetimeMs) / 1000),
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/**
 * The default `aud`: `https://test.salesforce.com` for sandboxes and scratch orgs
 * (test.salesforce.com, `*.sandbox.my.salesforce.com`, `*.scratch.my.salesforce.com`, and the
 * legacy `name--sandbox.my.salesforce.com`), `https://login.salesforce.com` otherwise.
 */
export function jwtAudienceFor(loginUrl: string): string {
  let host: string;
  try {
    host = new URL(loginUrl).hostname.toLowerCase();
  } catch {
    return 'https://login.salesforce.com';
  }
  const sandbox =
    host === 'test.salesforce.com' ||
    host.endsWith('.sandbox.my.salesforce.com') ||
    host.endsWith('.scratch.my.salesforce.com') ||
    (host.endsWith('.my.salesforce.com') && host.includes('--'));
  return sandbox ? 'https://test.salesforce.com' : 'https://login.salesforce.com';
}

/**
 * Reads and checks the PEM private key at `path` (`SF_PRIVATE_KEY_FILE`), synchronously: it runs
 * once, at start-up. Throws a `SalesforceAuthError` naming SF_PRIVATE_KEY_FILE and the path, never
 * the key.
 */
export function loadPrivateKey(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new SalesforceAuthError(
      'private-key-unreadable',
      `SF_PRIVATE_KEY_FILE: cannot read the private key file ${JSON.stringify(path)}${typeof code === 'string' ? ` (${code})` : ''}`,
      { cause },
    );
  }
  toRsaPrivateKey(pem, `SF_PRIVATE_KEY_FILE (${JSON.stringify(path)})`);
  return pem;
}

function toRsaPrivateKey(key: string | KeyObject, what: string): KeyObject {
  let keyObject: KeyObject;
  try {
    keyObject = typeof key === 'string' ? createPrivateKey(key) : key;
  } catch (cause) {
    // The cause is OpenSSL's decoder error; it does not quote the key.
    throw new SalesforceAuthError('private-key-invalid', `${what} is not a PEM private key`, {
      cause,
    });
  }
  if (keyObject.type !== 'private' || keyObject.asymmetricKeyType !== 'rsa') {
    throw new SalesforceAuthError(
      'private-key-invalid',
      `${what} must be an RSA private key (RS256), got ${keyObject.type} ${keyObject.asymmetricKeyType ?? 'key'}`,
    );
  }
  return keyObject;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
