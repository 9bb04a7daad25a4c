import { describe, expect, it } from 'vitest';
import {
  classifyHttpFailure,
  classifyInputResult,
  classifyInvokeResponse,
  classifyTransportError,
} from './classify-response.js';
import type { ActionResult, CallVerdict, InputError, InputVerdict } from './types.js';

const NOW_MS = Date.parse('2025-01-01T00:00:00Z');
const json = (value: unknown) => JSON.stringify(value);
const ok = (outputValues: Record<string, unknown> | null = null) => ({
  actionName: 'Send_SMS',
  errors: null,
  isSuccess: true,
  outputValues,
});
const failed = (...errors: Partial<InputError>[]) => ({
  actionName: 'Send_SMS',
  errors: errors.map((e) => ({ statusCode: 'UNKNOWN_EXCEPTION', message: '', fields: [], ...e })),
  isSuccess: false,
  outputValues: null,
});
const envelope = (errorCode: string, message: string) => json([{ errorCode, message }]);
const HTML_502 = '<html><head><title>502 Bad Gateway</title></head><body>Bad gateway</body></html>';

interface InvokeCase {
  name: string;
  status: number;
  body: string;
  inputCount?: number;
  headers?: Record<string, string>;
  expected: CallVerdict | ((verdict: CallVerdict) => void);
}

const invokeCases: InvokeCase[] = [
  // Per-input results
  {
    name: '200, all inputs succeeded',
    status: 200,
    body: json([ok({ Flow__InterviewStatus: 'Finished' }), ok()]),
    inputCount: 2,
    expected: {
      kind: 'results',
      status: 200,
      inputs: [
        { kind: 'succeeded', outputValues: { Flow__InterviewStatus: 'Finished' } },
        { kind: 'succeeded', outputValues: null },
      ],
    },
  },
  {
    name: '400 partial failure: each element reconciled, successes kept',
    status: 400,
    body: json([
      { ...ok(), errors: [] },
      failed({
        statusCode: 'REQUIRED_FIELD_MISSING',
        message: 'IndividualId',
        fields: ['IndividualId'],
      }),
      failed({
        statusCode: 'UNABLE_TO_LOCK_ROW',
        message: 'unable to obtain exclusive access to this record',
      }),
      failed({ statusCode: 'LIMIT_EXCEEDED', message: 'limit' }),
    ]),
    inputCount: 4,
    expected: (verdict) =>
      expect(verdict).toMatchObject({
        kind: 'results',
        status: 400,
        inputs: [
          { kind: 'succeeded' },
          {
            kind: 'permanent',
            error: { statusCode: 'REQUIRED_FIELD_MISSING', fields: ['IndividualId'] },
          },
          { kind: 'transient', error: { statusCode: 'UNABLE_TO_LOCK_ROW' } },
          { kind: 'governor-limit', error: { statusCode: 'LIMIT_EXCEEDED' } },
        ],
      }),
  },
  {
    name: 'a bare result object is one result',
    status: 200,
    body: json(ok()),
    expected: { kind: 'results', status: 200, inputs: [{ kind: 'succeeded', outputValues: null }] },
  },
  {
    name: '201 with results is still results',
    status: 201,
    body: json([ok()]),
    expected: { kind: 'results', status: 201, inputs: [{ kind: 'succeeded', outputValues: null }] },
  },
  // Malformed
  {
    name: 'fewer results than inputs',
    status: 200,
    body: json([ok()]),
    inputCount: 3,
    expected: {
      kind: 'malformed-response',
      status: 200,
      message: 'Salesforce answered 1 results for 3 inputs',
    },
  },
  {
    name: 'more results than inputs on 400',
    status: 400,
    body: json([failed({}), failed({})]),
    inputCount: 1,
    expected: (v) => expect(v).toMatchObject({ kind: 'malformed-response', status: 400 }),
  },
  {
    name: 'non-JSON 200',
    status: 200,
    body: '<html>maintenance</html>',
    expected: (v) => expect(v).toMatchObject({ kind: 'malformed-response', status: 200 }),
  },
  {
    name: 'empty 200',
    status: 200,
    body: '',
    expected: (v) => expect(v).toMatchObject({ kind: 'malformed-response', status: 200 }),
  },
  {
    name: 'an element without isSuccess',
    status: 200,
    body: json([{ actionName: 'x', errors: null, outputValues: null }]),
    expected: (v) => expect(v).toMatchObject({ kind: 'malformed-response', status: 200 }),
  },
  {
    name: 'empty array',
    status: 200,
    body: '[]',
    expected: (v) => expect(v).toMatchObject({ kind: 'malformed-response', status: 200 }),
  },
  {
    name: '400 with neither results nor an error envelope',
    status: 400,
    body: '<html>Bad Request</html>',
    expected: (v) => expect(v).toMatchObject({ kind: 'malformed-response', status: 400 }),
  },
  {
    name: '302 redirect',
    status: 302,
    body: '',
    expected: (v) => expect(v).toMatchObject({ kind: 'malformed-response', status: 302 }),
  },
  // Auth
  {
    name: '401 session expired',
    status: 401,
    body: envelope('INVALID_SESSION_ID', 'Session expired or invalid'),
    expected: { kind: 'auth-expired', message: 'INVALID_SESSION_ID: Session expired or invalid' },
  },
  {
    name: '401 without a body is still worth one refresh',
    status: 401,
    body: '',
    expected: { kind: 'auth-expired', message: 'HTTP 401 with an empty body' },
  },
  {
    name: '401 not valid for REST: configuration, no refresh',
    status: 401,
    body: envelope('INVALID_SESSION_ID', 'This session is not valid for use with the REST API'),
    expected: (v) => {
      expect(v.kind).toBe('auth-misconfigured');
      expect(v).toHaveProperty('message', expect.stringContaining('configuration problem'));
      expect(v).toHaveProperty('message', expect.stringContaining("'API Enabled'"));
    },
  },
  {
    name: '401 connected app not attached to Agent (jsforce special case)',
    status: 401,
    body: envelope('INVALID_SESSION_ID', 'Connected app is not attached to Agent'),
    expected: (v) => expect(v.kind).toBe('auth-misconfigured'),
  },
  // Limits
  {
    name: '403 daily allocation spent',
    status: 403,
    body: envelope('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
    expected: {
      kind: 'daily-limit',
      message: 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.',
    },
  },
  {
    name: 'concurrent long-running limit on 403',
    status: 403,
    body: envelope('REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
    expected: (v) => expect(v.kind).toBe('concurrency-limit'),
  },
  {
    name: 'concurrent long-running limit on 503 (status UNCONFIRMED)',
    status: 503,
    body: envelope('REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
    expected: (v) => expect(v.kind).toBe('concurrency-limit'),
  },
  {
    name: 'concurrent long-running limit as plain text',
    status: 400,
    body: 'ConcurrentPerOrgLongTxn Limit exceeded.',
    expected: (v) => expect(v.kind).toBe('concurrency-limit'),
  },
  {
    name: 'ConcurrentRequests (Help 000389067) is a concurrency limit',
    status: 403,
    body: json([
      {
        message: 'ConcurrentRequests (Concurrent API Requests) Limit exceeded',
        errorCode: 'REQUEST_LIMIT_EXCEEDED',
      },
    ]),
    expected: {
      kind: 'concurrency-limit',
      message:
        'REQUEST_LIMIT_EXCEEDED: ConcurrentRequests (Concurrent API Requests) Limit exceeded',
    },
  },
  {
    name: 'ConcurrentPerOrgApex is a concurrency limit',
    status: 403,
    body: envelope('REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgApex Limit exceeded'),
    expected: {
      kind: 'concurrency-limit',
      message: 'REQUEST_LIMIT_EXCEEDED: ConcurrentPerOrgApex Limit exceeded',
    },
  },
  {
    name: 'ConcurrentPerOrgApex on 503 with another code (status and envelope UNCONFIRMED)',
    status: 503,
    body: envelope(
      'UNKNOWN_EXCEPTION',
      'System.LimitException: ConcurrentPerOrgApex Limit exceeded',
    ),
    expected: (v) => expect(v.kind).toBe('concurrency-limit'),
  },
  {
    name: 'an unnamed REQUEST_LIMIT_EXCEEDED backs off',
    status: 403,
    body: envelope('REQUEST_LIMIT_EXCEEDED', 'SomeOtherLimit Limit exceeded.'),
    headers: { 'retry-after': '30' },
    expected: {
      kind: 'rate-limited',
      retryAfterMs: 30_000,
      message: 'REQUEST_LIMIT_EXCEEDED: SomeOtherLimit Limit exceeded.',
    },
  },
  {
    name: '429 with Retry-After seconds',
    status: 429,
    body: '',
    headers: { 'Retry-After': '7' },
    expected: { kind: 'rate-limited', retryAfterMs: 7000, message: 'HTTP 429 with an empty body' },
  },
  {
    name: '429 without Retry-After',
    status: 429,
    body: '',
    expected: { kind: 'rate-limited', message: 'HTTP 429 with an empty body' },
  },
  // Flow missing
  {
    name: '404 NOT_FOUND',
    status: 404,
    body: envelope('NOT_FOUND', 'The requested resource does not exist'),
    expected: { kind: 'flow-missing', message: 'NOT_FOUND: The requested resource does not exist' },
  },
  // Overloaded
  {
    name: '503 SERVER_UNAVAILABLE with Retry-After seconds',
    status: 503,
    body: envelope('SERVER_UNAVAILABLE', 'Server is unavailable'),
    headers: { 'retry-after': '120' },
    expected: {
      kind: 'overloaded',
      status: 503,
      retryAfterMs: 120_000,
      message: 'SERVER_UNAVAILABLE: Server is unavailable',
    },
  },
  {
    name: '503 with Retry-After as an HTTP date',
    status: 503,
    body: '',
    headers: { 'retry-after': new Date(NOW_MS + 90_000).toUTCString() },
    expected: (v) =>
      expect(v).toMatchObject({ kind: 'overloaded', status: 503, retryAfterMs: 90_000 }),
  },
  {
    name: '502 HTML page: described, not quoted',
    status: 502,
    body: HTML_502,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    expected: {
      kind: 'overloaded',
      status: 502,
      message: `HTTP 502 with a body of ${HTML_502.length} chars (text/html)`,
    },
  },
  {
    name: '500 UNKNOWN_EXCEPTION envelope',
    status: 500,
    body: envelope('UNKNOWN_EXCEPTION', 'An unexpected error occurred.'),
    expected: (v) => expect(v).toMatchObject({ kind: 'overloaded', status: 500 }),
  },
  {
    name: '503 with a garbage Retry-After',
    status: 503,
    body: '',
    headers: { 'retry-after': 'soon-ish' },
    expected: { kind: 'overloaded', status: 503, message: 'HTTP 503 with an empty body' },
  },
  // Rejected
  {
    name: '400 JSON_PARSER_ERROR (exact body UNCONFIRMED)',
    status: 400,
    body: envelope('JSON_PARSER_ERROR', 'Unexpected character'),
    expected: {
      kind: 'rejected',
      status: 400,
      errorCode: 'JSON_PARSER_ERROR',
      message: 'JSON_PARSER_ERROR: Unexpected character',
    },
  },
  {
    name: '400 envelope naming a bad input variable',
    status: 400,
    body: json([{ errorCode: 'INVALID_INPUT', message: 'Unknown input: Foo', fields: ['Foo'] }]),
    expected: (v) =>
      expect(v).toMatchObject({ kind: 'rejected', status: 400, errorCode: 'INVALID_INPUT' }),
  },
  {
    name: '400 INSUFFICIENT_ACCESS stays a rejection (a 400 may name an input)',
    status: 400,
    body: envelope('INSUFFICIENT_ACCESS', 'insufficient access rights on cross-reference id'),
    expected: (v) =>
      expect(v).toMatchObject({ kind: 'rejected', status: 400, errorCode: 'INSUFFICIENT_ACCESS' }),
  },
  // Refused: nothing ran, no input is named
  {
    name: '403 API_DISABLED_FOR_ORG (the real body): the whole org',
    status: 403,
    body: json([
      {
        message: 'The REST API is not enabled for this Organization.',
        errorCode: 'API_DISABLED_FOR_ORG',
      },
    ]),
    expected: {
      kind: 'refused',
      status: 403,
      errorCode: 'API_DISABLED_FOR_ORG',
      message: 'API_DISABLED_FOR_ORG: The REST API is not enabled for this Organization.',
      scope: 'org',
    },
  },
  {
    name: '403 API_DISABLED_FOR_ORG after another error still covers the org',
    status: 403,
    body: json([
      { errorCode: 'FORBIDDEN', message: 'x' },
      { errorCode: 'API_DISABLED_FOR_ORG', message: 'off' },
    ]),
    expected: (v) =>
      expect(v).toMatchObject({ kind: 'refused', errorCode: 'API_DISABLED_FOR_ORG', scope: 'org' }),
  },
  ...[
    'INSUFFICIENT_ACCESS',
    'INSUFFICIENT_PRIVILEGES',
    'INSUFFICIENT_ACCESS_OR_READONLY',
    'FORBIDDEN',
  ].map(
    (errorCode): InvokeCase => ({
      name: `403 ${errorCode}: this flow`,
      status: 403,
      body: envelope(errorCode, 'insufficient access rights on entity'),
      expected: {
        kind: 'refused',
        status: 403,
        errorCode,
        message: `${errorCode}: insufficient access rights on entity`,
        scope: 'flow',
      },
    }),
  ),
  {
    name: '403 without an error envelope: this flow',
    status: 403,
    body: '<html>Forbidden</html>',
    headers: { 'content-type': 'text/html' },
    expected: {
      kind: 'refused',
      status: 403,
      errorCode: 'HTTP_403',
      message: 'HTTP 403 with a body of 22 chars (text/html)',
      scope: 'flow',
    },
  },
  {
    name: '413 without a body',
    status: 413,
    body: '',
    expected: {
      kind: 'rejected',
      status: 413,
      errorCode: 'HTTP_413',
      message: 'HTTP 413 with an empty body',
    },
  },
];

describe('classifyInvokeResponse', () => {
  it.each(invokeCases)('$name', ({ status, body, inputCount, headers, expected }) => {
    const verdict = classifyInvokeResponse({
      status,
      body,
      inputCount: inputCount ?? 1,
      headers: headers ?? {},
      nowMs: NOW_MS,
    });
    if (typeof expected === 'function') expected(verdict);
    else expect(verdict).toEqual(expected);
  });

  it('keeps long Salesforce messages bounded', () => {
    const verdict = classifyInvokeResponse({
      status: 400,
      body: envelope('INVALID_INPUT', 'x'.repeat(10_000)),
      headers: {},
      inputCount: 1,
    });
    expect(verdict.kind).toBe('rejected');
    expect((verdict as { message: string }).message.length).toBeLessThan(600);
  });
});

describe('classifyHttpFailure', () => {
  it('is what describe/list/limits use for non-2xx answers', () => {
    expect(
      classifyHttpFailure({ status: 404, headers: {}, body: envelope('NOT_FOUND', 'nope') }),
    ).toEqual({ kind: 'flow-missing', message: 'NOT_FOUND: nope' });
    expect(
      classifyHttpFailure({
        status: 403,
        headers: {},
        body: envelope('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
      }).kind,
    ).toBe('daily-limit');
    expect(
      classifyHttpFailure({
        status: 403,
        headers: {},
        body: envelope('INSUFFICIENT_ACCESS', 'insufficient access rights on entity'),
      }),
    ).toMatchObject({ kind: 'refused', scope: 'flow' });
  });
});

const error = (statusCode: string, message = ''): InputError => ({
  statusCode,
  message,
  fields: [],
});
const result = (...errors: InputError[]): ActionResult => ({
  actionName: 'Send_SMS',
  isSuccess: false,
  errors,
  outputValues: null,
});

const inputCases: { name: string; result: ActionResult; expected: InputVerdict }[] = [
  {
    name: 'success with output values',
    result: { actionName: 'x', isSuccess: true, errors: [], outputValues: { a: 1 } },
    expected: { kind: 'succeeded', outputValues: { a: 1 } },
  },
  {
    name: 'flow fault UNKNOWN_EXCEPTION is permanent',
    result: result(
      error('UNKNOWN_EXCEPTION', 'An error occurred when executing a flow interview.'),
    ),
    expected: {
      kind: 'permanent',
      error: error('UNKNOWN_EXCEPTION', 'An error occurred when executing a flow interview.'),
    },
  },
  ...[
    'REQUIRED_FIELD_MISSING',
    'INVALID_INPUT',
    'INVALID_ID_FIELD',
    'INVALID_TYPE',
    'SOMETHING_NEW',
  ].map((code) => ({
    name: `${code} is permanent`,
    result: result(error(code, 'bad')),
    expected: { kind: 'permanent', error: error(code, 'bad') } as InputVerdict,
  })),
  ...['UNABLE_TO_LOCK_ROW', 'REQUEST_RUNNING_TOO_LONG', 'SERVER_UNAVAILABLE'].map((code) => ({
    name: `${code} is transient`,
    result: result(error(code, 'try later')),
    expected: { kind: 'transient', error: error(code, 'try later') } as InputVerdict,
  })),
  {
    name: 'a lock error inside a flow fault message is transient',
    result: result(
      error(
        'UNKNOWN_EXCEPTION',
        'UNABLE_TO_LOCK_ROW, unable to obtain exclusive access to this record',
      ),
    ),
    expected: {
      kind: 'transient',
      error: error(
        'UNKNOWN_EXCEPTION',
        'UNABLE_TO_LOCK_ROW, unable to obtain exclusive access to this record',
      ),
    },
  },
  {
    name: 'Record Currently Unavailable is transient',
    result: result(error('UNKNOWN_EXCEPTION', 'Record Currently Unavailable: being modified')),
    expected: {
      kind: 'transient',
      error: error('UNKNOWN_EXCEPTION', 'Record Currently Unavailable: being modified'),
    },
  },
  {
    name: 'statusCode LIMIT_EXCEEDED is a governor limit',
    result: result(error('LIMIT_EXCEEDED', 'limit')),
    expected: { kind: 'governor-limit', error: error('LIMIT_EXCEEDED', 'limit') },
  },
  ...[
    'System.LimitException: Too many SOQL queries: 101',
    'Apex CPU time limit exceeded',
    'Too many DML statements: 151',
    'Too many DML rows: 10001',
    'Too many query rows: 50001',
    'Apex heap size too large: 6000123',
  ].map((message) => ({
    name: `governor limit by message: ${message}`,
    result: result(error('UNKNOWN_EXCEPTION', message)),
    expected: {
      kind: 'governor-limit',
      error: error('UNKNOWN_EXCEPTION', message),
    } as InputVerdict,
  })),
  ...[
    'ConcurrentPerOrgLongTxn Limit exceeded.',
    'ConcurrentRequests (Concurrent API Requests) Limit exceeded',
    'ConcurrentPerOrgApex Limit exceeded',
    'System.LimitException: ConcurrentPerOrgApex Limit exceeded',
  ].map((message) => ({
    name: `a concurrency refusal in an input is transient: ${message}`,
    result: result(error('REQUEST_LIMIT_EXCEEDED', message)),
    expected: {
      kind: 'transient',
      error: error('REQUEST_LIMIT_EXCEEDED', message),
    } as InputVerdict,
  })),
  {
    name: 'a concurrency refusal wins over a permanent first error',
    result: result(
      error('UNKNOWN_EXCEPTION', 'An error occurred when executing a flow interview.'),
      error('UNKNOWN_EXCEPTION', 'ConcurrentPerOrgApex Limit exceeded'),
    ),
    expected: {
      kind: 'transient',
      error: error('UNKNOWN_EXCEPTION', 'ConcurrentPerOrgApex Limit exceeded'),
    },
  },
  {
    name: 'a governor sign wins over a permanent first error',
    result: result(error('UNKNOWN_EXCEPTION', 'flow fault'), error('LIMIT_EXCEEDED', 'x')),
    expected: { kind: 'governor-limit', error: error('LIMIT_EXCEEDED', 'x') },
  },
  {
    name: 'a transient sign wins over a permanent first error',
    result: result(error('UNKNOWN_EXCEPTION', 'flow fault'), error('UNABLE_TO_LOCK_ROW', 'x')),
    expected: { kind: 'transient', error: error('UNABLE_TO_LOCK_ROW', 'x') },
  },
  {
    name: 'isSuccess false without errors is permanent with a synthetic error',
    result: result(),
    expected: {
      kind: 'permanent',
      error: {
        statusCode: 'NO_ERROR_DETAIL',
        message: 'Salesforce reported isSuccess=false without an error',
        fields: [],
      },
    },
  },
];

describe('classifyInputResult', () => {
  it.each(inputCases)('$name', ({ result: input, expected }) => {
    expect(classifyInputResult(input)).toEqual(expected);
  });
});

const withCode = (code: string, message = 'x', name = 'Error') =>
  Object.assign(new Error(message), { code, name });

const transportCases: {
  name: string;
  err: unknown;
  sent: boolean;
  expected: { kind: 'timeout' | 'connection-failed'; sent: boolean };
}[] = [
  {
    name: 'connect timeout: not sent',
    err: withCode('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error', 'ConnectTimeoutError'),
    sent: true,
    expected: { kind: 'timeout', sent: false },
  },
  {
    name: 'headers timeout: sent',
    err: withCode('UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error', 'HeadersTimeoutError'),
    sent: false,
    expected: { kind: 'timeout', sent: true },
  },
  {
    name: 'body timeout: sent',
    err: withCode('UND_ERR_BODY_TIMEOUT', 'Body Timeout Error', 'BodyTimeoutError'),
    sent: false,
    expected: { kind: 'timeout', sent: true },
  },
  {
    name: 'deadline (TimeoutError) after sending',
    err: new DOMException('late', 'TimeoutError'),
    sent: true,
    expected: { kind: 'timeout', sent: true },
  },
  {
    name: 'deadline (TimeoutError) while queued',
    err: new DOMException('late', 'TimeoutError'),
    sent: false,
    expected: { kind: 'timeout', sent: false },
  },
  {
    name: 'ECONNRESET after sending',
    err: withCode('ECONNRESET', 'read ECONNRESET'),
    sent: true,
    expected: { kind: 'connection-failed', sent: true },
  },
  {
    name: 'ECONNRESET known before sending',
    err: withCode('ECONNRESET', 'read ECONNRESET'),
    sent: false,
    expected: { kind: 'connection-failed', sent: false },
  },
  {
    name: "UND_ERR_SOCKET 'other side closed'",
    err: withCode('UND_ERR_SOCKET', 'other side closed', 'SocketError'),
    sent: true,
    expected: { kind: 'connection-failed', sent: true },
  },
  {
    name: 'EPIPE',
    err: withCode('EPIPE', 'write EPIPE'),
    sent: true,
    expected: { kind: 'connection-failed', sent: true },
  },
  {
    name: 'ECONNREFUSED: not sent',
    err: withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'),
    sent: true,
    expected: { kind: 'connection-failed', sent: false },
  },
  {
    name: 'ENOTFOUND: not sent',
    err: withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND x.invalid'),
    sent: true,
    expected: { kind: 'connection-failed', sent: false },
  },
  {
    name: 'ECONNREFUSED inside an AggregateError (happy eyeballs)',
    err: Object.assign(new AggregateError([withCode('ECONNREFUSED')], 'x'), { code: undefined }),
    sent: true,
    expected: { kind: 'connection-failed', sent: false },
  },
  {
    name: 'ECONNREFUSED as cause',
    err: new Error('fetch failed', { cause: withCode('ECONNREFUSED') }),
    sent: true,
    expected: { kind: 'connection-failed', sent: false },
  },
  {
    name: 'TLS certificate mismatch: not sent',
    err: withCode('ERR_TLS_CERT_ALTNAME_INVALID'),
    sent: true,
    expected: { kind: 'connection-failed', sent: false },
  },
  {
    name: 'caller abort before sending',
    err: new DOMException('This operation was aborted', 'AbortError'),
    sent: false,
    expected: { kind: 'connection-failed', sent: false },
  },
  {
    name: 'caller abort after sending',
    err: withCode('UND_ERR_ABORTED', 'Request aborted', 'AbortError'),
    sent: true,
    expected: { kind: 'connection-failed', sent: true },
  },
  {
    name: 'AbortSignal.timeout() reason is a timeout',
    err: new DOMException('signal timed out', 'TimeoutError'),
    sent: true,
    expected: { kind: 'timeout', sent: true },
  },
  {
    name: 'unknown error keeps the sent flag',
    err: new Error('boom'),
    sent: true,
    expected: { kind: 'connection-failed', sent: true },
  },
  {
    name: 'a non-error value',
    err: 'weird',
    sent: false,
    expected: { kind: 'connection-failed', sent: false },
  },
  { name: 'null', err: null, sent: true, expected: { kind: 'connection-failed', sent: true } },
];

describe('classifyTransportError', () => {
  it.each(transportCases)('$name', ({ err, sent, expected }) => {
    const verdict = classifyTransportError(err, sent);
    expect(verdict).toMatchObject(expected);
    expect(verdict.message.length).toBeGreaterThan(0);
  });
});
