import { createPublicKey, type KeyObject, verify } from 'node:crypto';

export interface JwtExpectations {
  publicKey: KeyObject;
  issuer: string;
  subject: string;
  audiences: readonly string[];
  nowMs: number;
  /** Longest `exp` ahead of now that is accepted (Salesforce: 3 minutes). */
  maxAheadMs: number;
  /** Clock skew tolerated on top of `maxAheadMs`. */
  skewMs: number;
}

export type JwtVerdict =
  | { ok: true }
  | { ok: false; error: 'invalid_grant' | 'invalid_client_id'; description: string };

/**
 * Checks a JWT bearer assertion as the token endpoint does: RS256 signature, `iss` = consumer
 * key, `sub` = user, `aud` = an accepted login URL, `exp` in the future but not too far.
 * The `error` codes follow docs/salesforce-api.md#token-endpoint; the descriptions are the simulator's own wording.
 */
export function verifyJwtAssertion(assertion: string, expected: JwtExpectations): JwtVerdict {
  const parts = assertion.split('.');
  const [headerPart, payloadPart, signaturePart] = parts;
  if (
    parts.length !== 3 ||
    headerPart === undefined ||
    payloadPart === undefined ||
    signaturePart === undefined
  ) {
    return invalidGrant('invalid assertion');
  }
  const header = decodeJson(headerPart);
  if (header === undefined || header.alg !== 'RS256') return invalidGrant('invalid assertion');
  const signatureOk = verify(
    'sha256',
    Buffer.from(`${headerPart}.${payloadPart}`),
    expected.publicKey,
    Buffer.from(signaturePart, 'base64url'),
  );
  if (!signatureOk) return invalidGrant('invalid assertion');
  const claims = decodeJson(payloadPart);
  if (claims === undefined) return invalidGrant('invalid assertion');
  if (claims.iss !== expected.issuer) {
    return { ok: false, error: 'invalid_client_id', description: 'client identifier invalid' };
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.some((aud) => typeof aud === 'string' && expected.audiences.includes(aud))) {
    return invalidGrant('audience is invalid');
  }
  if (claims.sub !== expected.subject) return invalidGrant("user hasn't approved this consumer");
  if (typeof claims.exp !== 'number') return invalidGrant('invalid assertion');
  const expMs = claims.exp * 1000;
  if (expMs <= expected.nowMs) return invalidGrant('expired assertion');
  if (expMs > expected.nowMs + expected.maxAheadMs + expected.skewMs) {
    return invalidGrant('assertion expiry too far in the future');
  }
  return { ok: true };
}

const keyCache = new Map<string, KeyObject>();

/** Parses a PEM once; the config keeps the text, the endpoint needs the key on every request. */
export function publicKeyFromPem(pem: string): KeyObject {
  let key = keyCache.get(pem);
  if (key === undefined) {
    key = createPublicKey(pem);
    keyCache.clear();
    keyCache.set(pem, key);
  }
  return key;
}

function invalidGrant(description: string): JwtVerdict {
  return { ok: false, error: 'invalid_grant', description };
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
