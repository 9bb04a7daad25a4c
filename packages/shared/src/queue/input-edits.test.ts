import { describe, expect, it } from 'vitest';
import { applyInputEdits, checkInputEdits } from './input-edits.js';

describe('checkInputEdits', () => {
  it('accepts input names, each used once', () => {
    expect(checkInputEdits({})).toBeUndefined();
    expect(
      checkInputEdits({ drop: ['signup_id', 'Extra'], rename: { Phone: 'TelephoneNumber' } }),
    ).toBeUndefined();
  });

  it.each([
    [{ drop: [''] }, /drop needs an input name/],
    [{ drop: ['has space'] }, /drop expects an input name .*"has space"/],
    [{ drop: ['__proto__'] }, /drop expects an input name/],
    [{ drop: ['constructor'] }, /drop expects an input name/],
    [{ drop: ['IndividualId'] }, /IndividualId cannot be dropped or renamed/],
    [{ rename: { IndividualId: 'PersonId' } }, /IndividualId cannot be dropped or renamed/],
    [{ rename: { Phone: 'IndividualId' } }, /IndividualId cannot be dropped or renamed/],
    [{ rename: { Phone: '' } }, /rename needs an input name/],
    [{ rename: { Phone: 'Phone' } }, /renaming Phone to itself changes nothing/],
    [{ drop: ['Phone', 'Phone'] }, /input Phone is named twice/],
    [{ drop: ['Phone'], rename: { Phone: 'TelephoneNumber' } }, /input Phone is named twice/],
    [{ rename: { A: 'C', B: 'C' } }, /input C is named twice/],
    [{ rename: { A: 'B', B: 'C' } }, /input B is named twice/],
  ])('refuses %j', (edits, problem) => {
    expect(checkInputEdits(edits)).toMatch(problem);
  });

  it('names the flags it was given in its messages', () => {
    expect(
      checkInputEdits({ drop: [''] }, { drop: '--drop-input', rename: '--rename-input' }),
    ).toBe('--drop-input needs an input name');
  });
});

describe('applyInputEdits', () => {
  const input = { IndividualId: '0PK1', signup_id: 's-1', Phone: '+15550100', Coupon_Code: 'X' };

  it('drops and renames, keeping the other inputs and their order', () => {
    const edited = applyInputEdits(input, {
      drop: ['signup_id'],
      rename: { Phone: 'TelephoneNumber' },
    });
    expect(edited).toEqual({
      input: { IndividualId: '0PK1', TelephoneNumber: '+15550100', Coupon_Code: 'X' },
    });
    if ('input' in edited) {
      expect(Object.keys(edited.input)).toEqual(['IndividualId', 'TelephoneNumber', 'Coupon_Code']);
    }
    // The letter's own input is left as it was.
    expect(input).toEqual({
      IndividualId: '0PK1',
      signup_id: 's-1',
      Phone: '+15550100',
      Coupon_Code: 'X',
    });
  });

  it('leaves an input without the named inputs as it is', () => {
    expect(
      applyInputEdits({ IndividualId: '0PK2' }, { drop: ['signup_id'], rename: { Phone: 'Tel' } }),
    ).toEqual({ input: { IndividualId: '0PK2' } });
  });

  it('keeps falsy values when renaming them', () => {
    expect(
      applyInputEdits({ IndividualId: '0PK3', Opt: false }, { rename: { Opt: 'OptIn' } }),
    ).toEqual({ input: { IndividualId: '0PK3', OptIn: false } });
  });

  it('refuses an input that has both the old and the new name of a rename', () => {
    expect(
      applyInputEdits(
        { IndividualId: '0PK4', Phone: '+1555', TelephoneNumber: '+1666' },
        { rename: { Phone: 'TelephoneNumber' } },
      ),
    ).toEqual({ conflict: 'it has both Phone and TelephoneNumber' });
  });
});
