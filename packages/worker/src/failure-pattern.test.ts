import type { CallVerdict, InputVerdict } from '@flow-dispatcher/salesforce';
import { describe, expect, it } from 'vitest';
import { failurePattern, normaliseErrorMessage } from './failure-pattern.js';

const GENERIC = 'An error occurred when executing a flow interview.';
const fault = (statusCode: string, message: string): InputVerdict => ({
  kind: 'permanent',
  error: { statusCode, message, fields: [] },
});
const ok: InputVerdict = { kind: 'succeeded', outputValues: null };
const results = (...inputs: InputVerdict[]): CallVerdict => ({
  kind: 'results',
  status: 400,
  inputs,
});

describe('failurePattern', () => {
  it('sees a possible rollback when several inputs all fail with the generic flow fault', () => {
    const pattern = failurePattern(
      results(fault('UNKNOWN_EXCEPTION', GENERIC), fault('UNKNOWN_EXCEPTION', GENERIC)),
    );
    expect(pattern).toMatchObject({
      rolledBack: true,
      error: { code: 'UNKNOWN_EXCEPTION', message: GENERIC },
    });
    expect(pattern.signature).toBe(`UNKNOWN_EXCEPTION|${GENERIC}`);
  });

  it('blames a lone input for its own generic fault, and a mixed call for nothing', () => {
    expect(failurePattern(results(fault('UNKNOWN_EXCEPTION', GENERIC))).rolledBack).toBe(false);
    expect(failurePattern(results(fault('UNKNOWN_EXCEPTION', GENERIC), ok))).toEqual({
      rolledBack: false,
    });
  });

  it('sees a rollback when every input hit a governor limit, whatever the texts', () => {
    const governor = (message: string): InputVerdict => ({
      kind: 'governor-limit',
      error: { statusCode: 'LIMIT_EXCEEDED', message, fields: [] },
    });
    expect(
      failurePattern(results(governor('Too many SOQL queries: 101'), governor('CPU time'))),
    ).toMatchObject({ rolledBack: true });
  });

  it('gives a uniform failure one signature, ids and values aside', () => {
    const pattern = failurePattern(
      results(
        fault('INVALID_INPUT', 'Invalid input parameter: signup_id'),
        fault('INVALID_INPUT', 'Invalid input parameter: signup_id'),
      ),
    );
    expect(pattern).toMatchObject({
      rolledBack: false,
      signature: 'INVALID_INPUT|Invalid input parameter: signup_id',
    });
    const ids = failurePattern(
      results(
        fault('INVALID_ID_FIELD', 'invalid id: 0PKxx0000000001AAA'),
        fault('INVALID_ID_FIELD', 'invalid id: 0PKxx0000000002BBB'),
      ),
    );
    expect(ids.signature).toBe('INVALID_ID_FIELD|invalid id: <id>');
  });

  it('has no signature when the inputs failed differently', () => {
    expect(
      failurePattern(
        results(
          fault('INVALID_INPUT', 'Invalid input parameter: a'),
          fault('REQUIRED_FIELD_MISSING', 'Required fields are missing: IndividualId'),
        ),
      ),
    ).toEqual({ rolledBack: false });
  });

  it('reads a refusal of the whole call as every input failing alike', () => {
    expect(
      failurePattern({
        kind: 'rejected',
        status: 400,
        errorCode: 'INVALID_INPUT',
        message: 'Invalid input parameter: signup_id',
      }),
    ).toMatchObject({
      rolledBack: false,
      signature: 'INVALID_INPUT|Invalid input parameter: signup_id',
    });
  });

  it('says nothing of answers that do not speak of the inputs', () => {
    expect(failurePattern({ kind: 'overloaded', status: 503, message: '' })).toEqual({
      rolledBack: false,
    });
  });
});

describe('normaliseErrorMessage', () => {
  it('takes out what differs between inputs and keeps names', () => {
    expect(
      normaliseErrorMessage(
        'value "jane@example.com" of EmailAddress for 0PKxx0000000001AAA at +1 555 010 0199, row 12',
      ),
    ).toBe('value "…" of EmailAddress for <id> at <n>, row <n>');
    expect(normaliseErrorMessage('bad jane@example.com')).toBe('bad <email>');
    expect(normaliseErrorMessage('Invalid input parameter: Coupon_Code')).toBe(
      'Invalid input parameter: Coupon_Code',
    );
  });
});
