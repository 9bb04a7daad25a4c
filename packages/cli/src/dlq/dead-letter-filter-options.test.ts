import { describe, expect, it } from 'vitest';
import { deadLetterFilter, describeFilter } from './dead-letter-filter-options.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

describe('dlq filter flags', () => {
  it('turns flags and ids into a filter', () => {
    const filter = deadLetterFilter(
      { flow: 'Welcome_SMS', errorCode: 'UNKNOWN_EXCEPTION', since: '2h', until: '10m' },
      NOW,
      ['a', 'a', 'b'],
    );
    expect(filter).toEqual({
      flow: 'Welcome_SMS',
      errorCode: 'UNKNOWN_EXCEPTION',
      since: NOW - 7_200_000,
      until: NOW - 600_000,
      ids: ['a', 'b'],
    });
    expect(describeFilter(filter)).toBe(
      'flow Welcome_SMS, error UNKNOWN_EXCEPTION, since 2025-06-01T10:00:00.000Z, before 2025-06-01T11:50:00.000Z, 2 listed id(s)',
    );
    expect(describeFilter({})).toBe('all');
  });

  it.each([
    [{ flow: 'bad name' }, /--flow/],
    [{ errorCode: 'a b' }, /--error-code/],
    [{ since: 'soon' }, /--since/],
    [{ since: '1h', until: '2h' }, /--since must be before --until/],
  ])('refuses %j', (options, message) => {
    expect(() => deadLetterFilter(options, NOW)).toThrow(message);
  });
});
