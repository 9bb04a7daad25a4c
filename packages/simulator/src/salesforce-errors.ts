import type { ConcurrencyRefusal } from './simulator-config.js';

/**
 * Request-level error bodies. The ones marked "fixture" are byte-for-byte the bodies in
 * packages/shared/fixtures/salesforce; the others are the simulator's choice (see README, "Assumptions").
 */

/** `[{"errorCode","message"}]`, the REST error envelope (key order as Salesforce's own bodies). */
export function restError(errorCode: string, message: string): string {
  return JSON.stringify([{ errorCode, message }]);
}

/** fixture: error-401-invalid-session-expired.json */
export const invalidSessionBody =
  '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]';

/** fixture: error-401-invalid-session-not-valid-for-rest.json */
export const sessionNotValidForRestBody =
  '[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]';

/** fixture: error-403-request-limit-exceeded-daily.json */
export const dailyLimitBody =
  '[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]';

/**
 * The 403 of a call over the concurrency cap, by the refusal configured. ConcurrentPerOrgLongTxn
 * is the fixture error-403-request-limit-exceeded-concurrent.json (envelope partly reconstructed
 * there); the other two carry the messages Salesforce documents, in the same envelope (README).
 */
export const concurrentLimitBodies: Readonly<Record<ConcurrencyRefusal, string>> = {
  ConcurrentPerOrgLongTxn:
    '[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]',
  ConcurrentRequests:
    '[{"message":"ConcurrentRequests (Concurrent API Requests) Limit exceeded","errorCode":"REQUEST_LIMIT_EXCEEDED"}]',
  ConcurrentPerOrgApex:
    '[{"message":"ConcurrentPerOrgApex Limit exceeded","errorCode":"REQUEST_LIMIT_EXCEEDED"}]',
};

/** The org's API access is off: a body reported from a real org (README, "Assumptions"). */
export const apiDisabledBody =
  '[{"message":"The REST API is not enabled for this Organization.","errorCode":"API_DISABLED_FOR_ORG"}]';

/**
 * The integration user may not run the flow. No flow-specific body is known; this is the text
 * other Salesforce APIs answer with INSUFFICIENT_ACCESS (see README, "Assumptions").
 */
export const insufficientAccessBody =
  '[{"message":"insufficient access rights on entity","errorCode":"INSUFFICIENT_ACCESS"}]';

/** fixture: error-404-flow-not-found.json */
export const notFoundBody =
  '[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]';

/** errorCode from docs/salesforce-api.md#request-level-errors (third-party tests); message is the simulator's. */
export const serverUnavailableBody = restError(
  'SERVER_UNAVAILABLE',
  'Server is temporarily unavailable. Please try again later.',
);

/** 429 is not a documented Salesforce REST status; body invented. */
export const tooManyRequestsBody = restError(
  'TOO_MANY_REQUESTS',
  'Too many requests. Retry later.',
);

export function methodNotAllowedBody(method: string, allowed: string): string {
  return restError(
    'METHOD_NOT_ALLOWED',
    `HTTP Method '${method}' not allowed. Allowed are ${allowed}`,
  );
}

/** Per-element error messages (statusCode / message). */
export const interviewErrors = {
  requiredMissing: (name: string) => ({
    statusCode: 'REQUIRED_FIELD_MISSING',
    message: `Missing required input parameter: ${name}`,
  }),
  unknownInput: (name: string) => ({
    statusCode: 'INVALID_INPUT',
    message: `Invalid input parameter: ${name}`,
  }),
  transient: {
    statusCode: 'UNABLE_TO_LOCK_ROW',
    message: 'unable to obtain exclusive access to this record',
  },
  permanent: {
    statusCode: 'UNKNOWN_EXCEPTION',
    message: 'An error occurred when executing a flow interview.',
  },
  /**
   * Every input of a call whose shared transaction broke a governor limit and rolled back: the
   * same generic flow fault, never the limit's own text (that only goes to the flow-error email).
   */
  rolledBack: {
    statusCode: 'UNKNOWN_EXCEPTION',
    message: 'An error occurred when executing a flow interview.',
  },
} as const;

export interface InterviewError {
  statusCode: string;
  message: string;
}
