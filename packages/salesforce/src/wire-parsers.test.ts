import { describe, expect, it } from 'vitest';
import { parseActionResults, parseRequestErrors } from './action-results.js';
import { parseFlowDescribe } from './flow-describe.js';
import { parseFlowList } from './flow-list.js';
import { assertFlowName, isValidFlowName } from './flow-name.js';
import { parseOrgLimits } from './org-limits.js';
import type { ActionResult, RequestError } from './types.js';

const actionCases: { name: string; body: unknown; expected: ActionResult[] | undefined }[] = [
  {
    name: 'errors null',
    body: [{ actionName: 'F', errors: null, isSuccess: true, outputValues: { a: 1 } }],
    expected: [{ actionName: 'F', isSuccess: true, errors: [], outputValues: { a: 1 } }],
  },
  {
    name: 'errors [] and unknown fields dropped',
    body: [
      {
        actionName: 'F',
        errors: [],
        isSuccess: true,
        outputValues: null,
        invocationId: null,
        outcome: null,
        sortOrder: -1,
        version: 1,
      },
    ],
    expected: [{ actionName: 'F', isSuccess: true, errors: [], outputValues: null }],
  },
  {
    name: 'errors with statusCode, message, fields',
    body: [
      {
        actionName: 'F',
        errors: [{ statusCode: 'INVALID_INPUT', message: 'bad', fields: ['IndividualId'] }],
        isSuccess: false,
        outputValues: null,
      },
    ],
    expected: [
      {
        actionName: 'F',
        isSuccess: false,
        errors: [{ statusCode: 'INVALID_INPUT', message: 'bad', fields: ['IndividualId'] }],
        outputValues: null,
      },
    ],
  },
  {
    name: 'partial error elements are completed, junk elements dropped',
    body: [
      {
        isSuccess: false,
        errors: [{ message: 'm' }, 'junk', { statusCode: 'X', fields: [1, 'f'] }],
      },
    ],
    expected: [
      {
        actionName: null,
        isSuccess: false,
        errors: [
          { statusCode: 'UNKNOWN', message: 'm', fields: [] },
          { statusCode: 'X', message: '', fields: ['f'] },
        ],
        outputValues: null,
      },
    ],
  },
  {
    name: 'outputValues that is not an object becomes null',
    body: [{ isSuccess: true, outputValues: 'x' }],
    expected: [{ actionName: null, isSuccess: true, errors: [], outputValues: null }],
  },
  {
    name: 'bare object',
    body: { isSuccess: true },
    expected: [{ actionName: null, isSuccess: true, errors: [], outputValues: null }],
  },
  { name: 'empty array', body: [], expected: [] },
  { name: 'isSuccess missing', body: [{ actionName: 'F' }], expected: undefined },
  { name: 'isSuccess not boolean', body: [{ isSuccess: 'true' }], expected: undefined },
  {
    name: 'one bad element spoils the array',
    body: [{ isSuccess: true }, { nope: 1 }],
    expected: undefined,
  },
  {
    name: 'request error envelope',
    body: [{ errorCode: 'NOT_FOUND', message: 'x' }],
    expected: undefined,
  },
  { name: 'null', body: null, expected: undefined },
  { name: 'string', body: 'x', expected: undefined },
  { name: 'number', body: 1, expected: undefined },
];

describe('parseActionResults', () => {
  it.each(actionCases)('$name', ({ body, expected }) => {
    expect(parseActionResults(body)).toEqual(expected);
  });
});

const requestErrorCases: { name: string; body: unknown; expected: RequestError[] | undefined }[] = [
  {
    name: 'standard envelope',
    body: [{ errorCode: 'NOT_FOUND', message: 'gone' }],
    expected: [{ errorCode: 'NOT_FOUND', message: 'gone' }],
  },
  {
    name: 'with fields',
    body: [{ message: 'm', errorCode: 'INVALID_FIELD', fields: ['A', 2] }],
    expected: [{ errorCode: 'INVALID_FIELD', message: 'm', fields: ['A'] }],
  },
  {
    name: 'bare object',
    body: { errorCode: 'X', message: 'y' },
    expected: [{ errorCode: 'X', message: 'y' }],
  },
  {
    name: 'message missing',
    body: [{ errorCode: 'X' }],
    expected: [{ errorCode: 'X', message: '' }],
  },
  { name: 'errorCode missing', body: [{ message: 'y' }], expected: undefined },
  { name: 'empty array', body: [], expected: undefined },
  { name: 'action results', body: [{ isSuccess: true }], expected: undefined },
  { name: 'OAuth error', body: { error: 'invalid_grant' }, expected: undefined },
  { name: 'null', body: null, expected: undefined },
];

describe('parseRequestErrors', () => {
  it.each(requestErrorCases)('$name', ({ body, expected }) => {
    expect(parseRequestErrors(body)).toEqual(expected);
  });
});

describe('parseFlowDescribe', () => {
  it('normalises what it knows and ignores the rest', () => {
    const body = {
      name: 'Send_SMS',
      label: 'Send SMS',
      type: 'FLOW',
      category: 'x',
      standard: false,
      inputs: [
        {
          name: 'IndividualId',
          type: 'STRING',
          required: true,
          maxOccurs: 1,
          description: 'Individual',
          label: 'Individual Id',
          byteLength: 0,
        },
        { name: 'Recipients', type: 'STRING', maxOccurs: 2000 },
        { name: 'customInput', type: { apexClass: 'X' }, required: 'yes', maxOccurs: 'many' },
        { label: 'no name: dropped' },
        'junk',
      ],
      outputs: [{ name: 'Flow__InterviewStatus', type: 'STRING', label: 'x' }],
    };
    expect(parseFlowDescribe(body, 'Send_SMS')).toEqual({
      name: 'Send_SMS',
      label: 'Send SMS',
      type: 'FLOW',
      inputs: [
        {
          name: 'IndividualId',
          type: 'STRING',
          required: true,
          maxOccurs: 1,
          description: 'Individual',
          label: 'Individual Id',
        },
        {
          name: 'Recipients',
          type: 'STRING',
          required: false,
          maxOccurs: 2000,
          description: null,
          label: null,
        },
        {
          name: 'customInput',
          type: null,
          required: false,
          maxOccurs: 1,
          description: null,
          label: null,
        },
      ],
      outputs: [{ name: 'Flow__InterviewStatus', type: 'STRING' }],
    });
  });

  it.each([
    ['an array', [{ name: 'x' }]],
    ['null', null],
    ['a string', 'x'],
    ['an error envelope', [{ errorCode: 'NOT_FOUND', message: 'x' }]],
    ['an unrelated object', { DailyApiRequests: {} }],
  ])('rejects %s', (_label, body) => {
    expect(parseFlowDescribe(body, 'F')).toBeUndefined();
  });

  it('falls back to the requested name', () => {
    expect(parseFlowDescribe({ inputs: [] }, 'F')).toMatchObject({
      name: 'F',
      inputs: [],
      outputs: [],
    });
  });
});

describe('parseFlowList', () => {
  it('takes the names of a list answer', () => {
    const body = {
      actions: [
        {
          label: 'Send SMS',
          name: 'Send_SMS',
          type: 'FLOW',
          url: '/services/data/v65.0/actions/custom/flow/Send_SMS',
        },
        { label: 'Other', name: 'Other_Flow', type: 'FLOW' },
      ],
    };
    expect(parseFlowList(body)).toEqual(['Send_SMS', 'Other_Flow']);
    expect(parseFlowList({ actions: [] })).toEqual([]);
  });

  it.each([[{ actions: [{ label: 'x' }] }], [{}], [[]], [null]])('rejects %j', (body) => {
    expect(parseFlowList(body)).toBeUndefined();
  });
});

describe('parseOrgLimits', () => {
  it.each([
    [
      { DailyApiRequests: { Max: 100, Remaining: 5 } },
      { dailyApiRequests: { max: 100, remaining: 5 } },
    ],
    [
      { DailyApiRequests: { Max: 100, Remaining: -3 } },
      { dailyApiRequests: { max: 100, remaining: -3 } },
    ],
    [{ DailyApiRequests: { Max: '100', Remaining: 5 } }, undefined],
    [{ DailyBulkApiRequests: { Max: 1, Remaining: 1 } }, undefined],
    [null, undefined],
  ])('%j', (body, expected) => {
    expect(parseOrgLimits(body)).toEqual(expected);
  });
});

describe('flow names', () => {
  it.each(['Send_SMS', 'a', 'A1_b2', 'x'.repeat(80)])('accepts %s', (name) => {
    expect(isValidFlowName(name)).toBe(true);
    expect(() => assertFlowName(name)).not.toThrow();
  });

  it.each([
    '../../sobjects/User',
    '%2e%2e',
    'a/b',
    'a?b',
    'a#b',
    'a b',
    '_leading',
    '1leading',
    '',
    'x'.repeat(81),
    'x'.repeat(300),
    'Send_SMS\n',
    'Séance',
  ])('rejects %j', (name) => {
    expect(isValidFlowName(name)).toBe(false);
    expect(() => assertFlowName(name)).toThrow(
      expect.objectContaining({ name: 'SalesforceUsageError', code: 'invalid-flow-name' }),
    );
  });

  it('rejects non-strings', () => {
    expect(() => assertFlowName(42)).toThrow(TypeError);
  });
});
