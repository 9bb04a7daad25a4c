import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, formatRate } from './format-number.js';
import { renderTable } from './text-table.js';

describe('renderTable', () => {
  it('aligns columns, right-aligns numbers, cuts long cells, keeps one line per row', () => {
    const text = renderTable(
      [{ header: 'flow' }, { header: 'pending', align: 'right' }, { header: 'note', maxWidth: 8 }],
      [
        ['Welcome_SMS', '12,000', 'short'],
        ['A', '7', 'a long\nnote here'],
      ],
    );
    expect(text.split('\n')).toEqual([
      'flow         pending  note',
      'Welcome_SMS   12,000  short',
      'A                  7  a long …',
    ]);
  });
});

describe('number formats', () => {
  it('reads like a person writes them', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatRate(12.345)).toBe('12.3');
    expect(formatRate(4_100.4)).toBe('4,100');
    expect(formatDuration(90)).toBe('90ms');
    expect(formatDuration(4_500)).toBe('4.5s');
    expect(formatDuration(83_000)).toBe('1m 23s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
  });
});
