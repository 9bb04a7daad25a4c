import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseActionResults, parseRequestErrors } from './action-results.js';
import { parseTokenError, parseTokenResponse } from './auth/token-endpoint.js';
import { classifyInvokeResponse } from './classify-response.js';
import { parseCompositeBatchResponse } from './composite-batch.js';
import { parseFlowDescribe } from './flow-describe.js';
import { parseFlowList } from './flow-list.js';
import { parseJsonOrUndefined } from './json-body.js';
import { parseLimitInfo } from './limit-info-header.js';
import { parseOrgLimits } from './org-limits.js';
import type { CallVerdict } from './types.js';

// packages/shared/fixtures/salesforce: real Salesforce response bodies, verbatim (the directory's
// README gives each file's public source; docs/salesforce-api.md what they show).
const FIXTURES_DIR = fileURLToPath(new URL('../../shared/fixtures/salesforce/', import.meta.url));
const read = (name: string) => readFileSync(`${FIXTURES_DIR}${name}`, 'utf8');
const json = (name: string) => JSON.parse(read(name)) as unknown;
const NOW_MS = 1_700_000_000_000;

const invoke = (name: string, status: number, inputCount: number): CallVerdict =>
  classifyInvokeResponse({
    status,
    headers: { 'content-type': 'application/json;charset=UTF-8' },
    body: read(name),
    inputCount,
    nowMs: NOW_MS,
  });

/**
 * One entry per fixture file: what it parses and classifies to. A fixture added to the directory
 * without an entry here fails the completeness test below.
 */
const expectations: Record<string, () => void> = {
  'invoke-chatterPost-success-2inputs.json': () => {
    expect(invoke('invoke-chatterPost-success-2inputs.json', 200, 2)).toEqual({
      kind: 'results',
      status: 200,
      inputs: [
        { kind: 'succeeded', outputValues: { feedItemId: '0D5D0000000kynqKBA' } },
        { kind: 'succeeded', outputValues: { feedItemId: '0D5D0000000kynrKBz' } },
      ],
    });
  },
  'invoke-emailSimple-success-restguide-doc.json': () => {
    // A bare object (docs are inconsistent): accepted as one result.
    expect(parseActionResults(json('invoke-emailSimple-success-restguide-doc.json'))).toEqual([
      { actionName: 'emailSimple', isSuccess: true, errors: [], outputValues: null },
    ]);
    expect(invoke('invoke-emailSimple-success-restguide-doc.json', 200, 1)).toEqual({
      kind: 'results',
      status: 200,
      inputs: [{ kind: 'succeeded', outputValues: null }],
    });
  },
  'invoke-flow-all-failed-http400.json': () => {
    const error = {
      statusCode: 'UNKNOWN_EXCEPTION',
      message: 'An error occurred when executing a flow interview.',
      fields: [],
    };
    expect(invoke('invoke-flow-all-failed-http400.json', 400, 2)).toEqual({
      kind: 'results',
      status: 400,
      inputs: [
        { kind: 'permanent', error },
        { kind: 'permanent', error },
      ],
    });
  },
  'invoke-flow-create-member-success-real.json': () => {
    // Unknown keys (invocationId, outcome, sortOrder, version) are dropped.
    expect(parseActionResults(json('invoke-flow-create-member-success-real.json'))).toEqual([
      {
        actionName: 'Create_Member_API',
        isSuccess: true,
        errors: [],
        outputValues: {
          MemberID: '0lMal000000DCJVEA4',
          Flow__InterviewGuid: '9171d0bc96bab89e0de810ea72d419adeea6b1-949c',
          Flow__InterviewStatus: 'Finished',
        },
      },
    ]);
    expect(invoke('invoke-flow-create-member-success-real.json', 200, 1)).toMatchObject({
      kind: 'results',
      inputs: [{ kind: 'succeeded', outputValues: { MemberID: '0lMal000000DCJVEA4' } }],
    });
    expect(invoke('invoke-flow-create-member-success-real.json', 200, 2)).toMatchObject({
      kind: 'malformed-response',
      status: 200,
    });
  },
  'invoke-flow-deploydatakit-success-doc.json': () => {
    expect(invoke('invoke-flow-deploydatakit-success-doc.json', 200, 1)).toEqual({
      kind: 'results',
      status: 200,
      inputs: [
        {
          kind: 'succeeded',
          outputValues: {
            Flow__InterviewGuid: '43c0ccb801784ff02fa0c8a1919b1877f5-605b',
            Flow__InterviewStatus: 'Waiting',
          },
        },
      ],
    });
  },
  'invoke-quickaction-partial-failure-http400-fragment.json': () => {
    // `errors: []` with isSuccess true is a success, even inside an HTTP 400.
    expect(invoke('invoke-quickaction-partial-failure-http400-fragment.json', 400, 2)).toEqual({
      kind: 'results',
      status: 400,
      inputs: [
        { kind: 'succeeded', outputValues: null },
        { kind: 'succeeded', outputValues: null },
      ],
    });
    // The real answer had 200 elements; a fragment cannot be reconciled with 200 inputs.
    expect(invoke('invoke-quickaction-partial-failure-http400-fragment.json', 400, 200)).toEqual({
      kind: 'malformed-response',
      status: 400,
      message: 'Salesforce answered 2 results for 200 inputs',
    });
  },
  'error-401-invalid-session-expired.json': () => {
    expect(parseRequestErrors(json('error-401-invalid-session-expired.json'))).toEqual([
      { errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' },
    ]);
    expect(invoke('error-401-invalid-session-expired.json', 401, 1)).toEqual({
      kind: 'auth-expired',
      message: 'INVALID_SESSION_ID: Session expired or invalid',
    });
  },
  'error-401-invalid-session-not-valid-for-rest.json': () => {
    const verdict = invoke('error-401-invalid-session-not-valid-for-rest.json', 401, 1);
    expect(verdict.kind).toBe('auth-misconfigured');
    expect(verdict).toHaveProperty(
      'message',
      expect.stringMatching(/not valid for use with the REST API.*configuration problem.*scopes/s),
    );
  },
  'error-403-request-limit-exceeded-concurrent.json': () => {
    expect(invoke('error-403-request-limit-exceeded-concurrent.json', 403, 1)).toEqual({
      kind: 'concurrency-limit',
      message: 'REQUEST_LIMIT_EXCEEDED: ConcurrentPerOrgLongTxn Limit exceeded.',
    });
    // Status UNCONFIRMED: any status carrying the message is the concurrency limit.
    expect(invoke('error-403-request-limit-exceeded-concurrent.json', 503, 1).kind).toBe(
      'concurrency-limit',
    );
  },
  'error-403-request-limit-exceeded-daily.json': () => {
    expect(invoke('error-403-request-limit-exceeded-daily.json', 403, 1)).toEqual({
      kind: 'daily-limit',
      message: 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.',
    });
  },
  'error-404-flow-not-found.json': () => {
    expect(invoke('error-404-flow-not-found.json', 404, 1)).toEqual({
      kind: 'flow-missing',
      message: 'NOT_FOUND: The requested resource does not exist',
    });
  },
  'describe-emailSimple-fragment.txt': () => {
    const text = read('describe-emailSimple-fragment.txt');
    // Truncated in the source copy: not JSON, so not a describe, and never an exception.
    expect(parseJsonOrUndefined(text)).toBeUndefined();
    expect(parseFlowDescribe(parseJsonOrUndefined(text), 'emailSimple')).toBeUndefined();
    expect(invoke('describe-emailSimple-fragment.txt', 200, 1).kind).toBe('malformed-response');
    // What the fragment shows of the shape parses once completed.
    const completed = `${text} "STRING" } ], "name" : "emailSimple", "label" : "Send Email" }`;
    expect(parseFlowDescribe(JSON.parse(completed), 'emailSimple')).toEqual({
      name: 'emailSimple',
      label: 'Send Email',
      type: null,
      inputs: [
        {
          name: 'emailAddresses',
          type: 'STRING',
          required: false,
          maxOccurs: 1,
          description: 'Optional. The email recipients specified as a comma-separated list.',
          label: 'Email Addresses (comma-separated)',
        },
      ],
      outputs: [],
    });
  },
  'limits-response-simple-salesforce.json': () => {
    expect(parseOrgLimits(json('limits-response-simple-salesforce.json'))).toEqual({
      dailyApiRequests: { max: 15000, remaining: 14998 },
    });
  },
  'list-actions-custom.json': () => {
    // The index of custom action *types*, not a list of flows.
    const body = json('list-actions-custom.json');
    expect(parseFlowList(body)).toBeUndefined();
    expect(parseActionResults(body)).toBeUndefined();
    expect((body as Record<string, string>).flow).toBe('/services/data/v32.0/actions/custom/flow');
  },
  'list-actions-root.json': () => {
    const body = json('list-actions-root.json');
    expect(parseFlowList(body)).toBeUndefined();
    expect(parseActionResults(body)).toBeUndefined();
    expect(invoke('list-actions-root.json', 200, 1).kind).toBe('malformed-response');
  },
  'composite-batch-response.json': () => {
    const body = json('composite-batch-response.json');
    expect(parseCompositeBatchResponse(body)).toEqual({
      hasErrors: false,
      results: [
        { statusCode: 204, result: null },
        {
          statusCode: 200,
          result: {
            attributes: {
              type: 'Account',
              url: '/services/data/v67.0/sobjects/Account/001D000000K0fXOIAZ',
            },
            Name: 'NewName',
            BillingPostalCode: '94105',
            Id: '001D000000K0fXOIAZ',
          },
        },
      ],
    });
    expect(parseActionResults(body)).toBeUndefined();
    expect(invoke('composite-batch-response.json', 200, 2).kind).toBe('malformed-response');
  },
  'oauth-client-credentials-token-response.json': () => {
    const body = json('oauth-client-credentials-token-response.json');
    expect(parseTokenResponse(body, NOW_MS)).toEqual({
      accessToken:
        '00DS7000000oxzo!AR8AQPXAhJNveaXDdPzbrtXqPykdVxBxtbLycpiyPmKyJm0Ku8gKKztulObJ1dhJU8Jt9W8k7FySsPAkvCnsadT_AbJTSW5T',
      instanceUrl: 'https://instance_name.my.salesforce.com',
      issuedAt: 1678833535086,
    });
    expect(parseTokenError(body)).toBeUndefined();
  },
  'oauth-jwt-token-response-simple-salesforce.json': () => {
    // No issued_at: the token is stamped with the time it arrived.
    expect(
      parseTokenResponse(json('oauth-jwt-token-response-simple-salesforce.json'), NOW_MS),
    ).toEqual({
      accessToken: '12345',
      instanceUrl: 'https://na15.salesforce.com',
      issuedAt: NOW_MS,
    });
  },
  'oauth-token-error-invalid-client-id.json': () => {
    const body = json('oauth-token-error-invalid-client-id.json');
    expect(parseTokenError(body)).toEqual({
      error: 'invalid_client_id',
      description: 'client identifier invalid',
    });
    expect(parseTokenResponse(body, NOW_MS)).toBeUndefined();
  },
  'sforce-limit-info-header-examples.txt': () => {
    const values = read('sforce-limit-info-header-examples.txt')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.replace(/^Sforce-Limit-Info:\s*/i, ''));
    expect(values.map(parseLimitInfo)).toEqual([
      { apiUsage: { used: 10018, max: 100000 } },
      { apiUsage: { used: 18, max: 5000 } },
      {
        apiUsage: { used: 25, max: 5000 },
        perAppApiUsage: { used: 17, max: 250, appName: 'sample-app' },
      },
    ]);
  },
};

describe('Salesforce fixtures', () => {
  const files = readdirSync(FIXTURES_DIR).filter((name) => name !== 'README.md');

  it('has an expectation for every fixture file, and every expectation has a file', () => {
    expect(files.length).toBeGreaterThan(0);
    expect([...files].sort()).toEqual(Object.keys(expectations).sort());
  });

  it.each(files)('%s', (name) => {
    const check = expectations[name];
    if (!check) throw new Error(`no expectation for fixture ${name}`);
    check();
  });

  it.each(files.filter((name) => name.endsWith('.json') || name.endsWith('.txt')))(
    '%s never makes the classifier throw, whatever the status',
    (name) => {
      for (const status of [200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503]) {
        expect(() => invoke(name, status, 2)).not.toThrow();
      }
    },
  );
});
