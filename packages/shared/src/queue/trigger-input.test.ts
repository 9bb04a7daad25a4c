import { describe, expect, it } from 'vitest';
import { checkTriggerInput } from './trigger-input.js';

describe('checkTriggerInput', () => {
  it('accepts scalars and an Apex-defined nested object', () => {
    expect(
      checkTriggerInput({
        IndividualId: '0PKxx0000000001AAA',
        EmailAddress: 'a@example.com',
        Amount: 12.5,
        Opt_In: true,
        customInput: { Order_Number: 'A-1', Lines: [{ Sku: 'X', Qty: 2 }] },
      }),
    ).toBeUndefined();
  });

  it.each([
    [null, 'input'],
    [[], 'input'],
    ['text', 'input'],
    [{}, 'IndividualId'],
    [{ IndividualId: '' }, 'IndividualId'],
    [{ IndividualId: '   ' }, 'IndividualId'],
    [{ IndividualId: 42 }, 'IndividualId'],
    [{ IndividualId: 'x'.repeat(256) }, 'IndividualId'],
    [JSON.parse('{"IndividualId":"a","__proto__":{"x":1}}'), 'input'],
    [{ IndividualId: 'a', constructor: 'x' }, 'input'],
    [{ IndividualId: 'a', 'bad name': 1 }, 'input'],
    [{ IndividualId: 'a', nested: JSON.parse('{"__proto__":1}') }, 'nested'],
    [{ IndividualId: 'a', n: Number.NaN }, 'n'],
    [{ IndividualId: 'a', f: () => 1 }, 'f'],
    [{ IndividualId: 'a', big: 'x'.repeat(70_000) }, 'input'],
  ])('refuses %j, naming %s', (input, field) => {
    expect(checkTriggerInput(input)?.field).toBe(field);
  });

  it('bounds the depth', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 10; i++) deep = { n: deep };
    expect(checkTriggerInput({ IndividualId: 'a', deep })?.message).toMatch(/deeper than 8/);
  });
});
