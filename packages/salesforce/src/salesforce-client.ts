import { API_VERSION_EXAMPLE, isApiVersion } from '@flow-dispatcher/shared/config';
import { Pool } from 'undici';
import {
  classifyHttpFailure,
  classifyInvokeResponse,
  classifyTransportError,
} from './classify-response.js';
import { isSalesforceAuthError, SalesforceRequestError, SalesforceUsageError } from './errors.js';
import { parseFlowDescribe } from './flow-describe.js';
import { parseFlowList } from './flow-list.js';
import { assertFlowName } from './flow-name.js';
import { headerValue, type ResponseHeaders } from './header-value.js';
import { type ExchangeResult, exchange } from './http-exchange.js';
import { parseJsonOrUndefined } from './json-body.js';
import { parseLimitInfo } from './limit-info-header.js';
import { parseOrgLimits } from './org-limits.js';
import type {
  AccessToken,
  CallVerdict,
  FlowDescribe,
  InvokeOutcome,
  LimitInfo,
  OrgLimits,
  TokenSource,
} from './types.js';

/**
 * The Salesforce REST client: invoke a flow, describe it, list flows, read the org's limits.
 *
 * State it holds over time:
 * - one undici `Pool` (keep-alive connections) per instance origin. A token names its instance;
 *   when a new token names another origin, requests go to a pool for that origin;
 * - the describe cache: per flow, `absent` → `fetching` (one request shared by every caller) →
 *   `cached` until `describeTtlMs` passes → `absent`. Failures are not cached.
 *
 * Authentication: every request carries the current token. A 401 "Session expired or invalid"
 * refreshes the token once (single-flight in the `TokenSource`) and resends once: a 401 means the
 * request was not executed, so resending an invocation cannot duplicate it (docs/salesforce-api.md,
 * Expired tokens). A second 401, or the "not valid for use with the REST API" variant, is
 * `auth-misconfigured`.
 *
 * `invokeFlow` never throws for what Salesforce or the network did: it returns a verdict. It throws
 * `SalesforceUsageError` only for programming errors (a bad flow name, no inputs, a closed client).
 */

/**
 * Every tuning value is required: the process wiring it (worker, ingest, the CLI) passes the
 * configuration's, whose defaults are `defaults` of `@flow-dispatcher/shared/config`.
 */
export interface SalesforceClientOptions {
  tokens: TokenSource;
  /** REST API version without the `v` (SF_API_VERSION), e.g. `65.0`. */
  apiVersion: string;
  /** Deadline of one HTTP exchange, queueing to last byte (SF_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Deadline to open a connection, TCP + TLS (SF_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** Largest answer read; a larger one is a malformed response. */
  maxResponseBytes: number;
  /** Connections per instance origin: the most requests in flight at once. */
  connections: number;
  /** How long a describe is reused (SF_DESCRIBE_TTL_MS); 0 never reuses one. */
  describeTtlMs: number;
  /** Epoch ms, for the describe cache and `Retry-After` dates. @defaultValue Date.now */
  clock?: () => number;
  /**
   * Sent as `User-Agent` on every request, e.g. `flow-dispatcher/0.1.0 (worker host:1234)`:
   * Salesforce ignores it for the call itself but shows it in its API event logs, which tells an
   * org's administrator which process made a call. Unset: undici's default.
   */
  userAgent?: string;
}

export interface InvokeFlowOptions {
  /** Aborting gives a `connection-failed` verdict (`timeout` when the reason is a TimeoutError). */
  signal?: AbortSignal;
  /**
   * Asked right before each HTTP request of the call (the first, and a resend after a token
   * refresh) with the longest that request may take (`requestTimeoutMs`). False: the request is
   * not sent and the outcome is `connection-failed` with `sent: false` (nothing ran). The worker
   * uses it so that no request leaves once its call permit or a chunk lock may have lapsed.
   */
  beforeAttempt?: (maxDurationMs: number) => Promise<boolean>;
}

/** One request, after any token refresh and resend. */
interface SendOutcome {
  verdict: CallVerdict | undefined;
  response?: { status: number; headers: ResponseHeaders; body: string };
  status?: number;
  limitInfo?: LimitInfo;
  durationMs: number;
  attempts: number;
  cause?: unknown;
}

type Classify = (response: {
  status: number;
  headers: ResponseHeaders;
  body: string;
}) => CallVerdict | undefined;

export class SalesforceClient {
  readonly #tokens: TokenSource;
  readonly #apiBase: string;
  readonly #requestTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #connections: number;
  readonly #describeTtlMs: number;
  readonly #clock: () => number;
  readonly #userAgent: string | undefined;
  readonly #pools = new Map<string, Pool>();
  readonly #describes = new Map<string, { value: FlowDescribe; expiresAtMs: number }>();
  readonly #describesInFlight = new Map<string, Promise<FlowDescribe>>();
  #closed = false;

  constructor(options: SalesforceClientOptions) {
    const o = options;
    if (!isApiVersion(o.apiVersion)) {
      throw new SalesforceUsageError(
        'invalid-option',
        `SF_API_VERSION must look like ${API_VERSION_EXAMPLE}, got ${JSON.stringify(o.apiVersion)}`,
      );
    }
    for (const key of [
      'requestTimeoutMs',
      'connectTimeoutMs',
      'maxResponseBytes',
      'connections',
    ] as const) {
      if (!Number.isInteger(o[key]) || o[key] <= 0) {
        throw new SalesforceUsageError('invalid-option', `${key} must be a positive integer`);
      }
    }
    if (!Number.isFinite(o.describeTtlMs) || o.describeTtlMs < 0) {
      throw new SalesforceUsageError('invalid-option', 'describeTtlMs must be ≥ 0');
    }
    this.#tokens = options.tokens;
    this.#apiBase = `/services/data/v${o.apiVersion}`;
    this.#requestTimeoutMs = o.requestTimeoutMs;
    this.#connectTimeoutMs = o.connectTimeoutMs;
    this.#maxResponseBytes = o.maxResponseBytes;
    this.#connections = o.connections;
    this.#describeTtlMs = o.describeTtlMs;
    this.#clock = options.clock ?? Date.now;
    if (options.userAgent !== undefined && !/^[\x20-\x7e]+$/.test(options.userAgent)) {
      throw new SalesforceUsageError(
        'invalid-option',
        'userAgent must be printable ASCII (it is sent as an HTTP header)',
      );
    }
    this.#userAgent = options.userAgent;
  }

  /**
   * `POST /services/data/vXX.X/actions/custom/flow/{flow}` with `{"inputs":[...]}`. The verdict is
   * `results` (one `InputVerdict` per input, in order) or a whole-call verdict.
   */
  async invokeFlow(
    flow: string,
    inputs: readonly unknown[],
    opts: InvokeFlowOptions = {},
  ): Promise<InvokeOutcome> {
    assertFlowName(flow);
    this.#assertOpen();
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new SalesforceUsageError('invalid-inputs', 'invokeFlow needs a non-empty inputs array');
    }
    let body: string;
    try {
      body = JSON.stringify({ inputs });
    } catch (cause) {
      throw new SalesforceUsageError('invalid-inputs', 'inputs cannot be serialised to JSON', {
        cause,
      });
    }
    const inputCount = inputs.length;
    const nowMs = this.#clock;
    const sent = await this.#send(
      { method: 'POST', path: `${this.#apiBase}/actions/custom/flow/${flow}`, body },
      (response) => classifyInvokeResponse({ ...response, inputCount, nowMs: nowMs() }),
      opts.signal,
      opts.beforeAttempt,
    );
    const outcome: InvokeOutcome = {
      // #send always classifies an invocation: `undefined` is only for GET successes.
      verdict: sent.verdict ?? malformed(sent.status ?? 0, 'no verdict'),
      durationMs: sent.durationMs,
      attempts: sent.attempts,
    };
    if (sent.status !== undefined) outcome.status = sent.status;
    if (sent.limitInfo) outcome.limitInfo = sent.limitInfo;
    return outcome;
  }

  /**
   * `GET .../actions/custom/flow/{flow}`, normalised, cached per flow for `describeTtlMs`; callers
   * asking while a describe is in flight share it. Throws `SalesforceRequestError` (code = verdict
   * kind: `flow-missing`, `auth-misconfigured`, `malformed-response`, ...). `fresh` skips the cache
   * (a circuit breaker probing whether a flow came back must not be told by an old describe).
   */
  async describeFlow(flow: string, options: { fresh?: boolean } = {}): Promise<FlowDescribe> {
    assertFlowName(flow);
    this.#assertOpen();
    if (options.fresh) this.#describes.delete(flow);
    const cached = this.#describes.get(flow);
    if (cached && cached.expiresAtMs > this.#clock()) return cached.value;
    const inFlight = this.#describesInFlight.get(flow);
    if (inFlight) return inFlight;

    const fetching = (async () => {
      try {
        const describe = await this.#get(`/actions/custom/flow/${flow}`, (json) =>
          parseFlowDescribe(json, flow),
        );
        if (this.#describeTtlMs > 0) {
          this.#describes.set(flow, {
            value: describe,
            expiresAtMs: this.#clock() + this.#describeTtlMs,
          });
        }
        return describe;
      } finally {
        this.#describesInFlight.delete(flow);
      }
    })();
    this.#describesInFlight.set(flow, fetching);
    return fetching;
  }

  /** `GET .../actions/custom/flow` → the flow API names visible to the API user. */
  async listFlows(): Promise<string[]> {
    this.#assertOpen();
    return this.#get('/actions/custom/flow', parseFlowList);
  }

  /** `GET .../limits` → the daily API allocation (accurate within ~5 minutes; costs one call). */
  async getLimits(): Promise<OrgLimits> {
    this.#assertOpen();
    return this.#get('/limits', parseOrgLimits);
  }

  /** Closes every pool after in-flight requests finish. The client cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  async #get<T>(relativePath: string, parse: (json: unknown) => T | undefined): Promise<T> {
    const sent = await this.#send(
      { method: 'GET', path: `${this.#apiBase}${relativePath}` },
      (response) =>
        response.status >= 200 && response.status < 300 ? undefined : classifyHttpFailure(response),
    );
    const failure = (verdict: Exclude<CallVerdict, { kind: 'results' }>) =>
      new SalesforceRequestError(verdict, { status: sent.status, cause: sent.cause });

    if (sent.verdict) {
      if (sent.verdict.kind === 'results') throw failure(malformed(sent.status ?? 0, 'results'));
      throw failure(sent.verdict);
    }
    const response = sent.response;
    const parsed = response ? parse(parseJsonOrUndefined(response.body)) : undefined;
    if (parsed === undefined) {
      throw failure(
        malformed(
          response?.status ?? 0,
          `GET ${relativePath} answered HTTP ${response?.status} with a body that is not the expected JSON`,
        ),
      );
    }
    return parsed;
  }

  /**
   * Sends one request with the current token; on `auth-expired`, refreshes once and resends once.
   * `classify` returns `undefined` for an answer the caller will parse itself (GET 2xx).
   */
  async #send(
    request: { method: 'GET' | 'POST'; path: string; body?: string },
    classify: Classify,
    signal?: AbortSignal,
    beforeAttempt?: (maxDurationMs: number) => Promise<boolean>,
  ): Promise<SendOutcome> {
    let token: AccessToken;
    try {
      token = await this.#tokens.getToken();
    } catch (error) {
      return { verdict: verdictForTokenFailure(error), durationMs: 0, attempts: 0, cause: error };
    }

    let attempts = 0;
    let limitInfo: LimitInfo | undefined;
    let firstExpiryAt: number | undefined;
    for (;;) {
      if (beforeAttempt && !(await beforeAttempt(this.#requestTimeoutMs))) {
        const outcome: SendOutcome = {
          verdict: {
            kind: 'connection-failed',
            sent: false,
            message: 'not sent: the call may no longer start (its permit or a chunk lock lapsed)',
          },
          durationMs: 0,
          attempts,
        };
        if (limitInfo) outcome.limitInfo = limitInfo;
        return outcome;
      }
      attempts += 1;
      const attempt = await this.#exchangeOnce(token, request, classify, signal);
      limitInfo = attempt.limitInfo ?? limitInfo;
      const outcome: SendOutcome = { ...attempt, attempts };
      if (limitInfo) outcome.limitInfo = limitInfo;
      if (attempt.verdict?.kind !== 'auth-expired') return outcome;

      // Refresh once. A shared token source (the fleet's, in Redis) may answer the refresh with a
      // token another process got earlier, which can have expired as well: that one did not come
      // from this failure, so it earns one more refresh. A token obtained after the first 401
      // that is refused again is a configuration problem: no loop.
      firstExpiryAt ??= this.#clock();
      const refreshedBefore = attempts === 2 && token.issuedAt < firstExpiryAt;
      if (attempts >= 3 || (attempts === 2 && !refreshedBefore)) {
        outcome.verdict = {
          kind: 'auth-misconfigured',
          message:
            `Salesforce rejected a freshly obtained token too (${attempt.verdict.message}). ` +
            'Check that the connected app / external client app is enabled for this org and its ' +
            "run-as user, that its OAuth scopes include 'api', and that SF_LOGIN_URL points at the same org.",
        };
        return outcome;
      }
      try {
        token = await this.#tokens.refresh(token);
      } catch (error) {
        outcome.verdict = verdictForTokenFailure(error);
        outcome.cause = error;
        return outcome;
      }
    }
  }

  async #exchangeOnce(
    token: AccessToken,
    request: { method: 'GET' | 'POST'; path: string; body?: string },
    classify: Classify,
    signal: AbortSignal | undefined,
  ): Promise<Omit<SendOutcome, 'attempts'>> {
    let origin: string;
    try {
      origin = new URL(token.instanceUrl).origin;
    } catch (cause) {
      return {
        verdict: {
          kind: 'auth-misconfigured',
          message: 'the token source returned a token whose instanceUrl is not a URL',
        },
        durationMs: 0,
        cause,
      };
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${token.accessToken}`,
      accept: 'application/json',
    };
    if (request.body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    if (this.#userAgent !== undefined) headers['user-agent'] = this.#userAgent;

    const result: ExchangeResult = await exchange(this.#poolFor(origin), {
      origin,
      method: request.method,
      path: request.path,
      headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      timeoutMs: this.#requestTimeoutMs,
      maxResponseBytes: this.#maxResponseBytes,
      ...(signal ? { signal } : {}),
    });

    switch (result.kind) {
      case 'transport-error':
        return {
          verdict: classifyTransportError(result.error, result.sent),
          durationMs: result.durationMs,
          cause: result.error,
        };
      case 'too-large':
        return {
          verdict: malformed(
            result.status,
            `answer larger than maxResponseBytes (${this.#maxResponseBytes}); connection discarded`,
          ),
          status: result.status,
          ...limitInfoOf(result.headers),
          durationMs: result.durationMs,
        };
      case 'response': {
        const response = { status: result.status, headers: result.headers, body: result.body };
        return {
          verdict: classify(response),
          response,
          status: result.status,
          ...limitInfoOf(result.headers),
          durationMs: result.durationMs,
        };
      }
    }
  }

  #poolFor(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.#connections,
        connectTimeout: this.#connectTimeoutMs,
        headersTimeout: this.#requestTimeoutMs,
        bodyTimeout: this.#requestTimeoutMs,
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new SalesforceUsageError('client-closed', 'the Salesforce client is closed');
  }
}

/**
 * A token that cannot be obtained. Credentials refused, a fixed token expired, a bad key: an
 * operator must act (`auth-misconfigured`). The token endpoint unreachable or answering 5xx, or a
 * TokenSource failing with something other than a `SalesforceAuthError` (a shared cache being
 * down): nothing was sent and trying later may work, so it is `connection-failed`, `sent: false`.
 */
function verdictForTokenFailure(error: unknown): CallVerdict {
  if (isSalesforceAuthError(error)) {
    return error.retryable
      ? {
          kind: 'connection-failed',
          sent: false,
          message: `cannot obtain a token: ${error.message}`,
        }
      : { kind: 'auth-misconfigured', message: error.message };
  }
  // Only the name and code of an unknown error: its message is not ours to vouch for.
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  return {
    kind: 'connection-failed',
    sent: false,
    message: `the token source failed (${name}${typeof code === 'string' ? ` ${code}` : ''})`,
  };
}

function malformed(
  status: number,
  message: string,
): Extract<CallVerdict, { kind: 'malformed-response' }> {
  return { kind: 'malformed-response', status, message };
}

function limitInfoOf(headers: ResponseHeaders): { limitInfo?: LimitInfo } {
  const limitInfo = parseLimitInfo(headerValue(headers, 'sforce-limit-info'));
  return limitInfo ? { limitInfo } : {};
}
