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

  it('masks e-mail- and phone-shaped values wherever they are: keys, other inputs, ids', () => {
    const data = {
      v: 1,
      inputs: [
        {
          IndividualId: '0PK3',
          Contact: 'write to jane.doe+promo@example.co.uk',
          Notes: ['call +44 20 7946 0958 after 6'],
          customInput: { deeper: { Owner: 'ops@example.com' } },
          Amount: 1234567890,
        },
      ],
      keys: ['signup:jane.doe@example.com', 'sms-+15550100999', 'order-2026-12-07-42'],
      ids: ['Welcome_SMS.c0lz1abcd.0'],
    };
    expect(maskPersonalData(data)).toEqual({
      v: 1,
      inputs: [
        {
          IndividualId: '0PK3',
          Contact: 'write to [email]',
          Notes: ['call [phone] after 6'],
          customInput: { deeper: { Owner: '[email]' } },
          Amount: 1234567890,
        },
      ],
      keys: ['signup:[email]', 'sms-[phone]', 'order-2026-12-07-42'],
      ids: ['Welcome_SMS.c0lz1abcd.0'],
    });
  });

  it('masks whole what nests too deep to walk', () => {
    let deep: unknown = 'a@example.com';
    for (let i = 0; i < 15; i++) deep = { next: deep };
    expect(JSON.stringify(maskPersonalData(deep))).not.toContain('example.com');
  });
});
