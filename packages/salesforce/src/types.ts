/**
 * The shapes the rest of flow-dispatcher sees of Salesforce's invocable-action API.
 *
 * Everything here is written against docs/salesforce-api.md: one result per input, in
 * order; HTTP 400 whenever any input failed (the others already ran); request-level errors as
 * `[{"errorCode","message"}]`; no `expires_in` on tokens.
 */

/** One error of one input, as Salesforce reports it in `errors[]` of an action result. */
export interface InputError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** One element of an invocable-action response, normalised (unknown fields dropped). */
export interface ActionResult {
  actionName: string | null;
  isSuccess: boolean;
  /** Always an array: Salesforce sends `null` or `[]` on success. */
  errors: InputError[];
  outputValues: Record<string, unknown> | null;
}

/** One element of a request-level error body (`[{"errorCode","message","fields"?}]`). */
export interface RequestError {
  errorCode: string;
  message: string;
  fields?: string[];
}

/**
 * `Sforce-Limit-Info: api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)`. Parts
 * Salesforce adds that carry no documented meaning (`api-bursts=1/750`) are left out.
 */
export interface LimitInfo {
  apiUsage?: { used: number; max: number };
  perAppApiUsage?: { used: number; max: number; appName: string | null };
}

/** What became of one input of a call that Salesforce answered with per-input results. */
export type InputVerdict =
  | { kind: 'succeeded'; outputValues: Record<string, unknown> | null }
  /** Will fail again if sent again: dead-letter it. */
  | { kind: 'permanent'; error: InputError }
  /** May succeed later (UNABLE_TO_LOCK_ROW and the like): retry this input alone. */
  | { kind: 'transient'; error: InputError }
  /**
   * A governor limit of the flow's transaction (too many SOQL queries, CPU time, ...): retryable,
   * and a sign that the call carried too many inputs.
   */
  | { kind: 'governor-limit'; error: InputError };

/**
 * The one classification of an invocable-action call's outcome. Produced by
 * `classifyInvokeResponse` / `classifyTransportError` (pure functions), consumed by the worker.
 */
export type CallVerdict =
  /** HTTP 200, or 400 with a per-input result array (partial or total failure). */
  | { kind: 'results'; status: number; inputs: InputVerdict[] }
  /** 401 INVALID_SESSION_ID "Session expired or invalid": refresh the token once and resend. */
  | { kind: 'auth-expired'; message: string }
  /**
   * Authentication cannot succeed without an operator: "This session is not valid for use with the
   * REST API", a 401 right after a refresh, or the token endpoint refusing the credentials.
   * Nothing was executed.
   */
  | { kind: 'auth-misconfigured'; message: string }
  /** 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.": the daily allocation is spent. */
  | { kind: 'daily-limit'; message: string }
  /**
   * A concurrency refusal: "ConcurrentPerOrgLongTxn Limit exceeded.", "ConcurrentRequests
   * (Concurrent API Requests) Limit exceeded" or "ConcurrentPerOrgApex Limit exceeded". Fewer
   * calls at once, never a bad input.
   */
  | { kind: 'concurrency-limit'; message: string }
  /** 404 NOT_FOUND: the flow does not exist, is inactive, or is not shared with the API user. */
  | { kind: 'flow-missing'; message: string }
  /** 500, 502 (often an HTML page), 503 SERVER_UNAVAILABLE: nothing useful ran; back off. */
  | { kind: 'overloaded'; status: number; retryAfterMs?: number; message: string }
  /** 429 (not Salesforce's usual answer): back off for Retry-After. */
  | { kind: 'rate-limited'; retryAfterMs?: number; message: string }
  /**
   * A request-level refusal that names no input and concerns no trigger: nothing ran, and the same
   * request (or any part of it) will be refused alike until someone changes the org. `scope`:
   * `org` for 403 API_DISABLED_FOR_ORG (the org's API access is off: every request is refused);
   * `flow` for any other 403 that is not REQUEST_LIMIT_EXCEEDED (INSUFFICIENT_ACCESS,
   * INSUFFICIENT_PRIVILEGES, INSUFFICIENT_ACCESS_OR_READONLY...: the integration user may not run
   * this flow).
   */
  | {
      kind: 'refused';
      status: number;
      errorCode: string;
      message: string;
      scope: 'org' | 'flow';
    }
  /**
   * A request-level 4xx other than the above (e.g. 400 JSON_PARSER_ERROR, an envelope naming a bad
   * input): the call was refused as a whole and nothing ran. One bad input can cause it.
   */
  | { kind: 'rejected'; status: number; errorCode: string; message: string }
  /**
   * The call timed out. `sent: false` when the connection never opened (nothing ran); `sent: true`
   * when the request went out and no answer came: Salesforce may or may not have run it.
   */
  | { kind: 'timeout'; sent: boolean; message: string }
  /** The connection broke (reset, socket closed) after the request may have been sent. */
  | { kind: 'connection-failed'; sent: boolean; message: string }
  /**
   * An answer that cannot be reconciled: a 2xx/400 whose body is not a result array, or whose
   * length differs from the number of inputs. The inputs may or may not have run.
   */
  | { kind: 'malformed-response'; status: number; message: string };

/** What one `invokeFlow` call returns. It never throws for anything Salesforce or the network did. */
export interface InvokeOutcome {
  verdict: CallVerdict;
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** `Sforce-Limit-Info` of the answer, when present. */
  limitInfo?: LimitInfo;
  /** Wall-clock time of the final HTTP exchange (after any token refresh), in milliseconds. */
  durationMs: number;
  /** Number of HTTP requests made to the invoke endpoint (2 when a token refresh forced a resend). */
  attempts: number;
}

/** One input variable of a flow, from its describe. */
export interface FlowInputDescribe {
  name: string;
  type: string | null;
  required: boolean;
  /** `maxOccurs > 1` marks a collection. */
  maxOccurs: number;
  description: string | null;
  label: string | null;
}

/** `GET /services/data/vXX.X/actions/custom/flow/{flow}`, normalised. */
export interface FlowDescribe {
  name: string;
  label: string | null;
  type: string | null;
  inputs: FlowInputDescribe[];
  outputs: { name: string; type: string | null }[];
}

/** An access token and the instance it is valid for. Tokens carry no lifetime (docs/salesforce-api.md#token-lifetime). */
export interface AccessToken {
  accessToken: string;
  instanceUrl: string;
  /** Epoch ms when the token was obtained (from `issued_at` when Salesforce sends it). */
  issuedAt: number;
}

/**
 * Where tokens come from. `getToken()` returns the current token (minting one if there is none);
 * `refresh(stale)` replaces `stale` with a new token, single-flight: concurrent callers holding the
 * same stale token share one request to the token endpoint, and a caller whose stale token was
 * already replaced gets the replacement without a new request.
 */
export interface TokenSource {
  getToken(): Promise<AccessToken>;
  refresh(stale: AccessToken): Promise<AccessToken>;
  /** Number of requests made to the token endpoint (for metrics and tests). */
  readonly mints: number;
}

/**
 * Something that obtains a brand-new access token from the token endpoint, one request per call,
 * with no caching. A `TokenSource` adds caching and single-flight on top of it (in-process here;
 * a fleet-wide, Redis-shared source can wrap the same minter).
 */
export interface TokenMinter {
  mintToken(): Promise<AccessToken>;
}

/** `GET /services/data/vXX.X/limits`, reduced to what the dispatcher paces itself with. */
export interface OrgLimits {
  /** The org's rolling 24 h API request allocation (`DailyApiRequests`). */
  dailyApiRequests: { max: number; remaining: number };
}
