import { describe, expect, it } from 'vitest';
import { checkInputAgainstDescribe } from './describe-check.js';
import type { FlowDescribe } from './types.js';

const input = (name: string, required = false) => ({
  name,
  type: 'STRING',
  required,
  maxOccurs: 1,
  description: null,
  label: null,
});
const welcome: FlowDescribe = {
  name: 'Welcome_SMS',
  label: null,
  type: 'FLOW',
  inputs: [input('IndividualId', true), input('Coupon_Code'), input('Store_Id', true)],
  outputs: [],
};

describe('checkInputAgainstDescribe', () => {
  it('accepts declared and always-available inputs', () => {
    expect(
      checkInputAgainstDescribe(
        {
          IndividualId: 'a',
          Store_Id: 's',
          Coupon_Code: 'c',
          EmailAddress: 'e',
          TelephoneNumber: 't',
        },
        welcome,
      ),
    ).toBeUndefined();
  });

  it('names an unknown input; names are case-sensitive', () => {
    expect(
      checkInputAgainstDescribe({ IndividualId: 'a', Store_Id: 's', coupon_code: 'c' }, welcome),
    ).toMatchObject({
      kind: 'unknown',
      field: 'coupon_code',
      message: expect.stringContaining('"coupon_code"'),
    });
  });

  it('names a missing (or null) required input', () => {
    expect(checkInputAgainstDescribe({ IndividualId: 'a' }, welcome)).toMatchObject({
      kind: 'missing',
      field: 'Store_Id',
    });
    expect(checkInputAgainstDescribe({ IndividualId: 'a', Store_Id: null }, welcome)).toMatchObject(
      {
        kind: 'missing',
        field: 'Store_Id',
      },
    );
  });
});
