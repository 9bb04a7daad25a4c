import { parseActionResults, parseRequestErrors } from './action-results.js';
import { headerValue, type ResponseHeaders } from './header-value.js';
import { parseJsonOrUndefined } from './json-body.js';
import { parseRetryAfterMs } from './retry-after-header.js';
import type { ActionResult, CallVerdict, InputError, InputVerdict, RequestError } from './types.js';

/**
 * THE classification of Salesforce's answers, as pure functions. Every rule cites docs/salesforce-api.md (how-each-answer-is-classified);
 * what the notes mark UNCONFIRMED is handled by the most defensive reading.
 */

/** One HTTP answer to `POST .../actions/custom/flow/{flow}`. */
export interface InvokeResponse {
  status: number;
  headers: ResponseHeaders;
  body: string;
  /** Number of inputs that were sent; a result array of another length cannot be reconciled. */
  inputCount: number;
  /** Epoch ms, to turn an HTTP-date `Retry-After` into a delay. Defaults to `Date.now()`. */
  nowMs?: number;
}

/** Longest excerpt of a Salesforce message carried in a verdict. */
const MESSAGE_MAX_CHARS = 500;

/**
 * Classifies an answer to an invocation. HTTP 200 or 400 carrying one result per input → `results`
 * (400 means at least one input failed while the others already ran: reconcile each element, never
 * retry the whole call). Anything else goes through `classifyHttpFailure`.
 */
export function classifyInvokeResponse(input: InvokeResponse): CallVerdict {
  const { status, body, inputCount } = input;
  const json = parseJsonOrUndefined(body);

  if ((status >= 200 && status < 300) || status === 400) {
    const results = json === undefined ? undefined : parseActionResults(json);
    if (results) {
      if (results.length !== inputCount) {
        return {
          kind: 'malformed-response',
          status,
          message: `Salesforce answered ${results.length} results for ${inputCount} inputs`,
        };
      }
      return { kind: 'results', status, inputs: results.map(classifyInputResult) };
    }
  }
  return classifyHttpFailure({ ...input, json });
}

/** An answer that is not a per-input result array (any endpoint: invoke, describe, list, limits). */
export interface HttpFailure {
  status: number;
  headers: ResponseHeaders;
  body: string;
  /** The body parsed as JSON when the caller already did; parsed here otherwise. */
  json?: unknown;
  nowMs?: number;
}

const NOT_VALID_FOR_REST = /not valid for use with the REST API/i;
/** jsforce (src/http-api.ts) treats this 401 like the one above: refreshing cannot fix it. */
const NOT_ATTACHED_TO_AGENT = /Connected app is not attached to Agent/i;
/** The three concurrency refusals Salesforce is known to send: fewer calls at once, no bad input. */
const CONCURRENCY_REFUSAL = /ConcurrentPerOrgLongTxn|ConcurrentRequests|ConcurrentPerOrgApex/i;
const DAILY_TOTAL_REQUESTS = /TotalRequests/i;
/** The org's API access is off: every request is refused, whatever the flow. */
const ORG_API_DISABLED = 'API_DISABLED_FOR_ORG';

const MISCONFIGURED_HINT =
  'This is a configuration problem, not an expired token: check the connected app / external ' +
  "client app (its OAuth scopes must include 'api'; the run-as or integration user needs the " +
  "'API Enabled' permission). Refreshing the token will not help.";

/**
 * Classifies any answer that is not a reconcilable per-input result array. Rules, in order:
 * - `ConcurrentPerOrgLongTxn`, `ConcurrentRequests` or `ConcurrentPerOrgApex` anywhere, any
 *   status → concurrency-limit (envelope and status UNCONFIRMED, message texts confirmed).
 * - 401 "not valid for use with the REST API" → auth-misconfigured (no refresh, as jsforce does);
 *   any other 401 → auth-expired (refresh once, resend).
 * - REQUEST_LIMIT_EXCEEDED "TotalRequests" → daily-limit; any other REQUEST_LIMIT_EXCEEDED →
 *   rate-limited (a limit we cannot name: back off rather than drop the call).
 * - any other 403 → refused, nothing ran and no input is named: scope `org` for
 *   API_DISABLED_FOR_ORG, `flow` for the rest (INSUFFICIENT_ACCESS and its kin, or a 403 without
 *   an error envelope).
 * - 404 → flow-missing; 429 → rate-limited; 5xx → overloaded (both with `Retry-After`).
 * - 400 that is not an error envelope → malformed-response (types.ts: a 2xx/400 whose body is not a
 *   result array); any other 4xx → rejected; 2xx and anything else → malformed-response.
 */
export function classifyHttpFailure(input: HttpFailure): Exclude<CallVerdict, { kind: 'results' }> {
  const { status, headers, body } = input;
  const json = 'json' in input ? input.json : parseJsonOrUndefined(body);
  const errors = json === undefined ? undefined : parseRequestErrors(json);
  const first = errors?.[0];
  const text = errors ? errors.map((e) => `${e.errorCode} ${e.message}`).join(' ') : body;
  const message = first ? describeRequestError(first) : describeBody(status, headers, body);
  const retryAfterMs = () => parseRetryAfterMs(headerValue(headers, 'retry-after'), nowOf(input));

  if (CONCURRENCY_REFUSAL.test(text)) return { kind: 'concurrency-limit', message };

  if (status === 401) {
    if (NOT_VALID_FOR_REST.test(text) || NOT_ATTACHED_TO_AGENT.test(text)) {
      return { kind: 'auth-misconfigured', message: `${message}. ${MISCONFIGURED_HINT}` };
    }
    return { kind: 'auth-expired', message };
  }

  const limitError = errors?.find((e) => e.errorCode === 'REQUEST_LIMIT_EXCEEDED');
  if (limitError) {
    if (DAILY_TOTAL_REQUESTS.test(limitError.message)) return { kind: 'daily-limit', message };
    return withRetryAfter<RateLimited>({ kind: 'rate-limited', message }, retryAfterMs());
  }
  if (status === 403 && DAILY_TOTAL_REQUESTS.test(text) && /limit exceeded/i.test(text)) {
    return { kind: 'daily-limit', message };
  }
  if (status === 403) {
    const orgWide = errors?.some((e) => e.errorCode === ORG_API_DISABLED) ?? false;
    return {
      kind: 'refused',
      status,
      errorCode: orgWide ? ORG_API_DISABLED : (first?.errorCode ?? `HTTP_${status}`),
      message,
      scope: orgWide ? 'org' : 'flow',
    };
  }

  if (status === 404) return { kind: 'flow-missing', message };
  if (status === 429)
    return withRetryAfter<RateLimited>({ kind: 'rate-limited', message }, retryAfterMs());
  if (status >= 500 && status < 600) {
    return withRetryAfter<Overloaded>({ kind: 'overloaded', status, message }, retryAfterMs());
  }
  if (status >= 400 && status < 500 && (errors || status !== 400)) {
    return { kind: 'rejected', status, errorCode: first?.errorCode ?? `HTTP_${status}`, message };
  }
  return {
    kind: 'malformed-response',
    status,
    message: `unexpected answer: ${message}`,
  };
}

// Per-input classification ---------------------------------------------------------------------

/**
 * Governor limits of the flow's transaction. UNCONFIRMED: no source shows how a governor limit hit
 * inside a flow interview surfaces in an element of `errors[]` (it may only be the generic
 * UNKNOWN_EXCEPTION flow fault). We match the statusCode LIMIT_EXCEEDED and the Apex
 * `System.LimitException` texts in case the message carries them.
 */
const GOVERNOR_STATUS_CODES = new Set(['LIMIT_EXCEEDED']);
const GOVERNOR_MESSAGE =
  /LimitException|Too many SOQL queries|Apex CPU time limit exceeded|Too many DML (?:statements|rows)|Too many query rows|Apex heap size too large/i;

/**
 * May succeed if sent again later. UNABLE_TO_LOCK_ROW ("unable to obtain exclusive access to this
 * record", "Record Currently Unavailable") is the documented transient DML failure; the others are
 * API StatusCode values for a busy or slow server.
 */
const TRANSIENT_STATUS_CODES = new Set([
  'UNABLE_TO_LOCK_ROW',
  'REQUEST_RUNNING_TOO_LONG',
  'SERVER_UNAVAILABLE',
]);
const TRANSIENT_MESSAGE =
  /UNABLE_TO_LOCK_ROW|unable to obtain exclusive access to this record|Record Currently Unavailable|REQUEST_RUNNING_TOO_LONG|SERVER_UNAVAILABLE/i;

const NO_ERROR_DETAIL: InputError = {
  statusCode: 'NO_ERROR_DETAIL',
  message: 'Salesforce reported isSuccess=false without an error',
  fields: [],
};

/**
 * What became of one input. An element is a success when `isSuccess` says so. A failure with any
 * retryable sign (a concurrency refusal first: it is never the input's fault, even in a message
 * that also names a LimitException; then a governor limit; then transient) is retried: a
 * permanent error wrongly retried costs a few attempts, a transient one wrongly dead-lettered
 * costs a replay. Everything else (UNKNOWN_EXCEPTION flow fault, REQUIRED_FIELD_MISSING,
 * INVALID_INPUT, INVALID_ID_FIELD, unknown codes) is permanent.
 */
export function classifyInputResult(result: ActionResult): InputVerdict {
  if (result.isSuccess) return { kind: 'succeeded', outputValues: result.outputValues };
  const errors = result.errors.length > 0 ? result.errors : [NO_ERROR_DETAIL];
  const concurrency = errors.find((e) => CONCURRENCY_REFUSAL.test(e.message));
  if (concurrency) return { kind: 'transient', error: concurrency };
  const governor = errors.find(
    (e) => GOVERNOR_STATUS_CODES.has(e.statusCode) || GOVERNOR_MESSAGE.test(e.message),
  );
  if (governor) return { kind: 'governor-limit', error: governor };
  const transient = errors.find(
    (e) => TRANSIENT_STATUS_CODES.has(e.statusCode) || TRANSIENT_MESSAGE.test(e.message),
  );
  if (transient) return { kind: 'transient', error: transient };
  return { kind: 'permanent', error: errors[0] ?? NO_ERROR_DETAIL };
}

// Transport errors -----------------------------------------------------------------------------

/** Codes that can only happen before a byte of the request left: nothing ran. */
const NOT_SENT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);
/** Waiting for (the rest of) an answer: the request went out. */
const SENT_TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const CONNECT_TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT']);

/**
 * Classifies an exception of the HTTP layer. `sent` says whether the request was handed to an open
 * connection; codes that settle the question override it (a refused connection never sent
 * anything, a headers timeout always did). Resets and closed sockets (ECONNRESET, UND_ERR_SOCKET
 * "other side closed", EPIPE) are `sent` unless known otherwise. An abort whose reason is a
 * `TimeoutError` is a timeout; any other abort is a connection failure.
 */
export function classifyTransportError(
  err: unknown,
  sent: boolean,
): Extract<CallVerdict, { kind: 'timeout' | 'connection-failed' }> {
  const code = errorCode(err);
  const name = errorName(err);
  const detail = describeError(err, code);

  if (code && CONNECT_TIMEOUT_CODES.has(code)) {
    return { kind: 'timeout', sent: false, message: `connect timeout: ${detail}` };
  }
  if (code && SENT_TIMEOUT_CODES.has(code)) {
    return { kind: 'timeout', sent: true, message: `no answer in time: ${detail}` };
  }
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return { kind: 'timeout', sent, message: `timed out: ${detail}` };
  }
  if (code && NOT_SENT_CODES.has(code)) {
    return { kind: 'connection-failed', sent: false, message: `cannot connect: ${detail}` };
  }
  if (name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') {
    return { kind: 'connection-failed', sent, message: `request aborted: ${detail}` };
  }
  return { kind: 'connection-failed', sent, message: `connection failed: ${detail}` };
}

// Helpers --------------------------------------------------------------------------------------

type RateLimited = Extract<CallVerdict, { kind: 'rate-limited' }>;
type Overloaded = Extract<CallVerdict, { kind: 'overloaded' }>;

function withRetryAfter<T extends { retryAfterMs?: number }>(verdict: T, retryAfterMs?: number): T {
  return retryAfterMs === undefined ? verdict : { ...verdict, retryAfterMs };
}

function nowOf(input: { nowMs?: number }): number {
  return input.nowMs ?? Date.now();
}

function describeRequestError(error: RequestError): string {
  return truncate(`${error.errorCode}: ${error.message}`);
}

/** A non-JSON (or unrecognised JSON) body is described, never quoted: it may be a large HTML page. */
function describeBody(status: number, headers: ResponseHeaders, body: string): string {
  const type = headerValue(headers, 'content-type');
  const contentType = (Array.isArray(type) ? type[0] : type)?.split(';')[0]?.trim();
  if (body.length === 0) return `HTTP ${status} with an empty body`;
  return `HTTP ${status} with a body of ${body.length} chars (${contentType || 'no content type'})`;
}

function truncate(text: string): string {
  return text.length > MESSAGE_MAX_CHARS ? `${text.slice(0, MESSAGE_MAX_CHARS)}…` : text;
}

/** The error code, also looked up on `cause` and on the first error of an `AggregateError`. */
function errorCode(err: unknown): string | undefined {
  for (const candidate of [err, causeOf(err), firstAggregated(err)]) {
    const code = (candidate as { code?: unknown } | null | undefined)?.code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return undefined;
}

function errorName(err: unknown): string | undefined {
  const name = (err as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

function causeOf(err: unknown): unknown {
  return err !== null && typeof err === 'object' && 'cause' in err ? err.cause : undefined;
}

function firstAggregated(err: unknown): unknown {
  return err instanceof AggregateError ? err.errors[0] : undefined;
}

function describeError(err: unknown, code: string | undefined): string {
  const message =
    err instanceof Error || (err !== null && typeof err === 'object' && 'message' in err)
      ? String((err as { message: unknown }).message)
      : String(err);
  const text = code && !message.includes(code) ? `${code} ${message}` : message;
  return truncate(text || 'unknown error');
}
