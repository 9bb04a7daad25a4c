import type { FlowDescribe } from '@flow-dispatcher/salesforce';
import { defaultInputLimits } from '@flow-dispatcher/shared';
import { describe, expect, it } from 'vitest';
import {
  checkDropInInput,
  dropInKey,
  dropInResults,
  parseDropInRequest,
  parseIdempotencyKey,
  toSalesforceError,
} from './drop-in-request.js';
import { IngestError } from './ingest-error.js';

const describeOf = (...names: [string, boolean][]): FlowDescribe => ({
  name: 'Welcome_SMS',
  label: null,
  type: 'FLOW',
  inputs: names.map(([name, required]) => ({
    name,
    type: 'STRING',
    required,
    maxOccurs: 1,
    description: null,
    label: null,
  })),
  outputs: [],
});

describe('parseDropInRequest', () => {
  it('returns the inputs unchecked', () => {
    expect(parseDropInRequest({ inputs: [{ IndividualId: 'a' }, 'junk'] }, 10)).toEqual([
      { IndividualId: 'a' },
      'junk',
    ]);
  });

  it.each([
    [null, 'INVALID_REQUEST'],
    [{ inputs: {} }, 'INVALID_REQUEST'],
    [{ inputs: [] }, 'INVALID_REQUEST'],
    [{ input: [{}] }, 'INVALID_REQUEST'],
    [{ inputs: [{}, {}, {}] }, 'TOO_MANY_TRIGGERS'],
  ])('refuses %j as a whole with %s', (body, code) => {
    expect(() => parseDropInRequest(body, 2)).toThrow(expect.objectContaining({ code }));
  });
});

describe('parseIdempotencyKey', () => {
  it('reads the header and keys each input by index', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey(' order-42 ')).toBe('order-42');
    expect(dropInKey('order-42', 3)).toBe('order-42:3');
  });

  it.each([[''], ['has space'], ['k'.repeat(201)], [['a', 'b']], ['é']])('refuses %j', (value) => {
    expect(() => parseIdempotencyKey(value)).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe('checkDropInInput', () => {
  const unchecked = { kind: 'unchecked', reason: 'not_cached' } as const;

  it('reports the element error Salesforce would', () => {
    expect(checkDropInInput({ EmailAddress: 'x' }, defaultInputLimits, unchecked)).toEqual({
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: expect.stringContaining('IndividualId'),
      fields: ['IndividualId'],
    });
    expect(checkDropInInput('x', defaultInputLimits, unchecked)).toMatchObject({
      statusCode: 'INVALID_INPUT',
      fields: ['input'],
    });
    const ready = {
      kind: 'ready',
      describe: describeOf(['IndividualId', true], ['Store', true]),
    } as const;
    expect(
      checkDropInInput({ IndividualId: 'a', Shop: 's' }, defaultInputLimits, ready),
    ).toMatchObject({
      statusCode: 'INVALID_INPUT',
      fields: ['Shop'],
    });
    expect(checkDropInInput({ IndividualId: 'a' }, defaultInputLimits, ready)).toMatchObject({
      statusCode: 'REQUIRED_FIELD_MISSING',
      fields: ['Store'],
    });
    expect(
      checkDropInInput({ IndividualId: 'a', Store: 's' }, defaultInputLimits, ready),
    ).toBeUndefined();
  });
});

describe('dropInResults', () => {
  it('answers in Salesforce result shape, in input order', () => {
    expect(
      dropInResults('Welcome_SMS', [
        { id: 'Welcome_SMS.c1.0', key: null, duplicate: false },
        { statusCode: 'INVALID_INPUT', message: 'bad', fields: ['x'] },
      ]),
    ).toEqual([
      {
        actionName: 'Welcome_SMS',
        isSuccess: true,
        errors: null,
        outputValues: { triggerId: 'Welcome_SMS.c1.0', duplicate: false },
      },
      {
        actionName: 'Welcome_SMS',
        isSuccess: false,
        errors: [{ statusCode: 'INVALID_INPUT', message: 'bad', fields: ['x'] }],
        outputValues: null,
      },
    ]);
  });
});

describe('toSalesforceError', () => {
  it('speaks Salesforce request-level errors', () => {
    expect(toSalesforceError(new IngestError(401, 'UNAUTHORIZED', 'x'))).toEqual({
      status: 401,
      body: [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }],
    });
    expect(toSalesforceError(new IngestError(400, 'INVALID_FLOW_NAME', 'x'))).toEqual({
      status: 404,
      body: [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }],
    });
    expect(
      toSalesforceError(new IngestError(400, 'INVALID_JSON', 'not JSON')).body[0]?.errorCode,
    ).toBe('JSON_PARSER_ERROR');
    expect(toSalesforceError(new IngestError(503, 'REDIS_UNAVAILABLE', 'x')).status).toBe(503);
  });
});
