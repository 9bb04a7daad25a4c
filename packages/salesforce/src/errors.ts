import type { CallVerdict } from './types.js';

/**
 * Errors of the Salesforce client. Each has a stable `name` and `code` (compare those, not
 * `instanceof`: a second copy of this package would defeat `instanceof`) and a `cause`. No message,
 * cause or field ever holds an access token, a client secret, a JWT assertion or a private key.
 */

/** Why a token could not be obtained. */
export type SalesforceAuthErrorCode =
  /** The token endpoint answered 4xx (`invalid_client_id`, `invalid_grant`, `invalid_client`, ...). */
  | 'token-rejected'
  /** The token endpoint could not be reached, timed out, or answered 5xx/429. */
  | 'token-endpoint-unavailable'
  /** The token endpoint answered 2xx with something that is not a usable token. */
  | 'token-response-invalid'
  /** A fixed token (`SF_ACCESS_TOKEN`) was rejected and cannot be renewed. */
  | 'static-token-expired'
  /** The private key file (`SF_PRIVATE_KEY_FILE`) could not be read. */
  | 'private-key-unreadable'
  /** The private key is not a usable RSA private key. */
  | 'private-key-invalid';

export interface SalesforceAuthErrorOptions {
  cause?: unknown;
  /** True when trying again later may succeed without an operator. Default false. */
  retryable?: boolean;
  /** HTTP status of the token endpoint's answer, when one arrived. */
  status?: number;
  /** The OAuth `error` value the token endpoint sent (`invalid_grant`, ...). */
  oauthError?: string;
}

export class SalesforceAuthError extends Error {
  override readonly name = 'SalesforceAuthError';
  readonly code: SalesforceAuthErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly oauthError: string | undefined;

  constructor(
    code: SalesforceAuthErrorCode,
    message: string,
    options: SalesforceAuthErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.status = options.status;
    this.oauthError = options.oauthError;
  }
}

/** Every verdict kind except `results` can end a describe/list/limits request. */
export type SalesforceRequestErrorCode = Exclude<CallVerdict['kind'], 'results'>;

/**
 * A describe, list or limits request that did not produce its answer. `verdict` is the same
 * classification `invokeFlow` reports, so callers can apply one policy (back off for
 * `retryAfterMs`, alert on `auth-misconfigured`, ...).
 */
export class SalesforceRequestError extends Error {
  override readonly name = 'SalesforceRequestError';
  readonly code: SalesforceRequestErrorCode;
  readonly status: number | undefined;
  readonly verdict: Exclude<CallVerdict, { kind: 'results' }>;

  constructor(
    verdict: Exclude<CallVerdict, { kind: 'results' }>,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(verdict.message, { cause: options.cause });
    this.code = verdict.kind;
    this.verdict = verdict;
    this.status = options.status;
  }
}

export type SalesforceUsageErrorCode =
  | 'invalid-flow-name'
  | 'invalid-inputs'
  | 'invalid-option'
  | 'client-closed';

/** A programming or configuration error in how the client is called; never a Salesforce outcome. */
export class SalesforceUsageError extends TypeError {
  override readonly name = 'SalesforceUsageError';
  readonly code: SalesforceUsageErrorCode;

  constructor(code: SalesforceUsageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
  }
}

export function isSalesforceAuthError(error: unknown): error is SalesforceAuthError {
  return error instanceof Error && error.name === 'SalesforceAuthError' && 'code' in error;
}

export function isSalesforceRequestError(error: unknown): error is SalesforceRequestError {
  return error instanceof Error && error.name === 'SalesforceRequestError' && 'verdict' in error;
}
