import { describe, expect, it } from 'vitest';
import { CsvRowBuilder } from './csv-source.js';
import { progressLine } from './enqueue-progress.js';
import { rowProblem } from './enqueue-run.js';
import { ndjsonRow } from './ndjson-source.js';
import type { RowMapping } from './source-row.js';

const mapping = (over: Partial<RowMapping> = {}): RowMapping => ({
  rename: new Map(),
  drop: new Set(),
  json: new Set(),
  keyColumn: undefined,
  ...over,
});

describe('CsvRowBuilder', () => {
  it('maps, drops, parses JSON columns, leaves empty cells out and reads the key', () => {
    const builder = new CsvRowBuilder(
      ['id', ' Email ', 'Points', 'Order', 'row_id'],
      mapping({
        rename: new Map([
          ['id', 'IndividualId'],
          ['Email', 'EmailAddress'],
        ]),
        drop: new Set(['row_id']),
        json: new Set(['Points', 'Order']),
        keyColumn: 'row_id',
      }),
    );
    expect(
      builder.build(['0PK1', 'a@example.com', '12', '{"Sku":"X","Qty":2}', 'r1'], 2, 2, 99),
    ).toEqual({
      line: 2,
      lastLine: 2,
      input: {
        IndividualId: '0PK1',
        EmailAddress: 'a@example.com',
        Points: 12,
        Order: { Sku: 'X', Qty: 2 },
      },
      key: 'r1',
      endOffset: 99,
    });
    expect(builder.build(['0PK2', '', '', '', 'r2'], 3, 3, 120)).toMatchObject({
      input: { IndividualId: '0PK2' },
    });
  });

  it('sends the key column as the key only, unless --key-as-input', () => {
    const header = ['IndividualId', 'signup_id'];
    const only = new CsvRowBuilder(header, mapping({ keyColumn: 'signup_id' }));
    expect(only.columns).toEqual([{ column: 'IndividualId', input: 'IndividualId' }]);
    expect(only.build(['0PK1', 'S-1'], 2, 2, 0)).toMatchObject({
      input: { IndividualId: '0PK1' },
      key: 'S-1',
    });
    const both = new CsvRowBuilder(header, mapping({ keyColumn: 'signup_id', keyAsInput: true }));
    expect(both.columns.map((c) => c.input)).toEqual(['IndividualId', 'signup_id']);
    expect(both.build(['0PK1', 'S-1'], 2, 2, 0)).toMatchObject({
      input: { IndividualId: '0PK1', signup_id: 'S-1' },
      key: 'S-1',
    });
  });

  it('reports a row with missing or extra fields, bad JSON, or no key', () => {
    const builder = new CsvRowBuilder(
      ['IndividualId', 'Points', 'k'],
      mapping({ json: new Set(['Points']), keyColumn: 'k' }),
    );
    expect(builder.build(['0PK1', '1'], 5, 5, 0)).toMatchObject({
      line: 5,
      problem: 'has 2 field(s), the header has 3',
      cells: { IndividualId: '0PK1', Points: '1', k: '' },
    });
    expect(builder.build(['0PK1', '{x', 'k1'], 6, 6, 0)).toMatchObject({
      problem: 'column "Points" is not valid JSON',
    });
    expect(builder.build(['0PK1', '1', ''], 7, 7, 0)).toMatchObject({
      problem: 'the key column "k" is empty',
    });
  });

  it.each([
    [['Email'], mapping(), /no IndividualId column/],
    [
      ['IndividualId', 'First Name'],
      mapping(),
      /column 2 "First Name" is not a Salesforce input name/,
    ],
    [['IndividualId', 'a', 'a'], mapping(), /"a" appears twice/],
    [
      ['IndividualId'],
      mapping({ keyColumn: 'nope' }),
      /--key-column "nope": the header has no such column/,
    ],
    [
      ['IndividualId', 'x'],
      mapping({ rename: new Map([['x', 'IndividualId']]) }),
      /would both be input IndividualId/,
    ],
  ])('refuses header %j at once (exit 2)', (header, m, message) => {
    expect(() => new CsvRowBuilder(header, m)).toThrow(message);
  });
});

describe('ndjsonRow', () => {
  it('keeps JSON types, renames, drops and reads the key', () => {
    const row = ndjsonRow(
      '{"id":"0PK1","Points":12,"Opt_In":true,"seq":7}',
      3,
      50,
      mapping({
        rename: new Map([['id', 'IndividualId']]),
        drop: new Set(['seq']),
        keyColumn: 'seq',
      }),
    );
    expect(row).toEqual({
      line: 3,
      lastLine: 3,
      input: { IndividualId: '0PK1', Points: 12, Opt_In: true },
      key: '7',
      endOffset: 50,
    });
  });

  it('leaves the key field out of the input unless --key-as-input', () => {
    const text = '{"IndividualId":"0PK1","signup_id":42}';
    expect(ndjsonRow(text, 1, 0, mapping({ keyColumn: 'signup_id' }))).toMatchObject({
      input: { IndividualId: '0PK1' },
      key: '42',
    });
    expect(
      ndjsonRow(text, 1, 0, mapping({ keyColumn: 'signup_id', keyAsInput: true })),
    ).toMatchObject({ input: { IndividualId: '0PK1', signup_id: 42 }, key: '42' });
  });

  it.each([
    ['{"IndividualId":', /not valid JSON/],
    ['[1,2]', /not a JSON object/],
    ['{"IndividualId":"a"}', /the key field "k" is missing/],
  ])('reports %j', (text, problem) => {
    expect(
      ndjsonRow(text, 1, 0, mapping({ keyColumn: text.startsWith('{"I') ? 'k' : undefined })),
    ).toMatchObject({
      problem: expect.stringMatching(problem),
    });
  });

  it('keeps a "__proto__" field a plain, refused name', () => {
    const row = ndjsonRow('{"IndividualId":"a","__proto__":{"x":1}}', 1, 0, mapping());
    expect('input' in row && rowProblem(row.input, null)).toMatch(/invalid input name/);
  });
});

describe('rowProblem and the progress line', () => {
  it('words a problem as the producer would', () => {
    expect(rowProblem({ Email: 'x' }, null)).toBe(
      'IndividualId is required and must be a non-empty string',
    );
    expect(rowProblem({ IndividualId: 'a' }, 'k'.repeat(300))).toMatch(/key is longer than 256/);
    expect(rowProblem({ IndividualId: 'a' }, 'k')).toBeUndefined();
  });

  it('gives percent and ETA from the file size, none for stdin', () => {
    const counts = { rows: 52_000, bytes: 2_600_000, accepted: 51_990, duplicates: 8, rejected: 2 };
    expect(progressLine('Welcome_SMS ← big.csv', counts, 4_100, 260_000, 10_000_000)).toBe(
      'Welcome_SMS ← big.csv: 52,000 rows, 26% of the file, 4,100 rows/s, ETA 28s, 51,990 accepted, 8 duplicates, 2 rejected',
    );
    expect(progressLine('X ← stdin', counts, 4_100, 260_000, undefined)).toBe(
      'X ← stdin: 52,000 rows, 4,100 rows/s, 51,990 accepted, 8 duplicates, 2 rejected',
    );
  });
});
