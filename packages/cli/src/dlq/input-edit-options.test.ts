import { describe, expect, it } from 'vitest';
import { UsageError } from '../usage-error.js';
import { collect, describeInputEdits, inputEdits } from './input-edit-options.js';

describe('dlq replay --drop-input / --rename-input', () => {
  it('collects repeated flags into edits', () => {
    const drop = collect('Extra', collect('signup_id'));
    expect(drop).toEqual(['signup_id', 'Extra']);
    const edits = inputEdits({ dropInput: drop, renameInput: ['Phone=TelephoneNumber'] });
    expect(edits?.drop).toEqual(['signup_id', 'Extra']);
    expect({ ...edits?.rename }).toEqual({ Phone: 'TelephoneNumber' });
    expect(inputEdits({})).toBeUndefined();
  });

  it.each([
    [{ dropInput: [''] }, '--drop-input needs an input name'],
    [{ dropInput: ['a b'] }, '--drop-input expects an input name'],
    [{ dropInput: ['IndividualId'] }, 'IndividualId cannot be dropped or renamed'],
    [{ renameInput: ['Phone='] }, '--rename-input expects OLD=NEW, got "Phone="'],
    [{ renameInput: ['=Phone'] }, '--rename-input expects OLD=NEW, got "=Phone"'],
    [{ renameInput: ['Phone'] }, '--rename-input expects OLD=NEW, got "Phone"'],
    [
      { renameInput: ['Phone=Tel', 'Phone=Mobile'] },
      '--rename-input: input Phone is renamed twice',
    ],
    [{ renameInput: ['Phone=Tel=x'] }, 'got "Tel=x"'],
    [{ dropInput: ['Phone'], renameInput: ['Phone=Tel'] }, 'input Phone is named twice'],
  ])('%j is a usage error (exit 2, one line)', (options, message) => {
    let thrown: unknown;
    try {
      inputEdits(options);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toContain(message);
    expect((thrown as Error).message).not.toContain('\n');
  });

  it('says what it changes', () => {
    expect(describeInputEdits({ drop: ['signup_id'], rename: { Phone: 'TelephoneNumber' } })).toBe(
      'dropping input signup_id, renaming Phone to TelephoneNumber',
    );
    expect(describeInputEdits({ drop: ['a', 'b'] })).toBe('dropping inputs a, b');
  });
});
