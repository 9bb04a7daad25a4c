import { describe, expect, it } from 'vitest';
import { maskPersonalData } from './personal-data-mask.js';

describe('maskPersonalData', () => {
  it('masks email and phone inputs at any depth, and named extras, leaving the rest', () => {
    const data = {
      v: 1,
      inputs: [
        { IndividualId: '0PK1', EmailAddress: 'a@example.com', TelephoneNumber: '+1555' },
        { IndividualId: '0PK2', EmailAddress: '', customInput: { LoyaltyCard: '1234' } },
      ],
      keys: ['k1', null],
    };
    expect(maskPersonalData(data, ['LoyaltyCard'])).toEqual({
      v: 1,
      inputs: [
        { IndividualId: '0PK1', EmailAddress: '[masked]', TelephoneNumber: '[masked]' },
        { IndividualId: '0PK2', EmailAddress: '', customInput: { LoyaltyCard: '[masked]' } },
      ],
      keys: ['k1', null],
    });
    expect(data.inputs[0]?.EmailAddress).toBe('a@example.com');
  });
});
