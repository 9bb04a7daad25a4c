import { defaults } from '@flow-dispatcher/shared/config';
import { describe, expect, it } from 'vitest';
import { type CsvEvent, CsvRecordReader } from './csv-record-reader.js';

/** Reads `text` fed in chunks of `size` bytes (every size must give the same answer). */
function read(input: string | Buffer, size = 1_000_000, maxRecordBytes?: number): CsvEvent[] {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const reader = new CsvRecordReader({
    maxRecordBytes: maxRecordBytes ?? defaults.enqueueMaxRecordBytes,
  });
  const events: CsvEvent[] = [];
  for (let i = 0; i < bytes.length; i += size)
    events.push(...reader.push(bytes.subarray(i, i + size)));
  events.push(...reader.end());
  return events;
}

const summary = (events: CsvEvent[]) =>
  events.map((e) =>
    e.kind === 'record'
      ? { line: e.line, fields: e.fields }
      : { line: e.line, lastLine: e.lastLine, invalid: e.reason.split(' ').slice(0, 4).join(' ') },
  );

describe('CsvRecordReader', () => {
  it.each([1, 2, 7, 1_000_000])(
    'reads quoted, multi-line and CRLF records (chunks of %i bytes)',
    (size) => {
      const text =
        'IndividualId,Note\r\n' +
        'a1,plain\r\n' +
        'a2,"with, comma"\r\n' +
        'a3,"two\r\nlines"\r\n' +
        '\r\n' +
        'a4,"say ""hi"""\n' +
        'a5,\n' +
        'a6,"é ü 漢"';
      expect(summary(read(text, size))).toEqual([
        { line: 1, fields: ['IndividualId', 'Note'] },
        { line: 2, fields: ['a1', 'plain'] },
        { line: 3, fields: ['a2', 'with, comma'] },
        { line: 4, fields: ['a3', 'two\r\nlines'] },
        { line: 7, fields: ['a4', 'say "hi"'] },
        { line: 8, fields: ['a5', ''] },
        { line: 9, fields: ['a6', 'é ü 漢'] },
      ]);
    },
  );

  it.each([1, 3, 1_000_000])(
    'reports quote errors and goes on at the next line (chunks of %i)',
    (size) => {
      const text = [
        'h1,h2',
        'a1,x',
        'a2,bad"quote',
        'a3,"closed" junk',
        'a4,y',
        'a5,"spans',
        'two lines" junk',
        'a6,z',
        'a7,"never closed',
        'a8,w',
      ].join('\n');
      expect(summary(read(text, size))).toEqual([
        { line: 1, fields: ['h1', 'h2'] },
        { line: 2, fields: ['a1', 'x'] },
        { line: 3, lastLine: 3, invalid: 'a quote inside an' },
        { line: 4, lastLine: 4, invalid: 'unexpected text after the' },
        { line: 5, fields: ['a4', 'y'] },
        { line: 6, lastLine: 7, invalid: 'unexpected text after the' },
        { line: 8, fields: ['a6', 'z'] },
        { line: 9, lastLine: 10, invalid: 'a quoted field (column' },
      ]);
    },
  );

  it('keeps the text of a bad record for the rejects file', () => {
    const [, bad] = read('h\n"a"b\n');
    expect(bad).toMatchObject({ kind: 'invalid', raw: '"a"b', line: 2 });
  });

  it('reports bytes that are not UTF-8 with the column, and reads on', () => {
    const bytes = Buffer.concat([
      Buffer.from('h1,h2\na1,'),
      Buffer.from([0x66, 0xe9, 0x74, 0xe9]), // "fété" in Latin-1
      Buffer.from('\na2,ok\n'),
    ]);
    expect(summary(read(bytes))).toEqual([
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, lastLine: 2, invalid: 'column 2 is not' },
      { line: 3, fields: ['a2', 'ok'] },
    ]);
  });

  it('bounds a record, reports it, and resumes at the next line', () => {
    const text = `h\n"${'x'.repeat(100)}\nnext\n`;
    expect(summary(read(text, 16, 50))).toEqual([
      { line: 1, fields: ['h'] },
      { line: 2, lastLine: 2, invalid: 'the record is longer' },
      { line: 3, fields: ['next'] },
    ]);
  });

  it('tells how far it has read', () => {
    const reader = new CsvRecordReader({ maxRecordBytes: defaults.enqueueMaxRecordBytes });
    const events = reader.push(Buffer.from('h\nabc\nde'));
    expect(events.map((e) => e.endOffset)).toEqual([2, 6]);
    expect(reader.offset).toBe(8);
  });

  it('takes another delimiter and refuses an impossible one', () => {
    const reader = new CsvRecordReader({
      delimiter: ';',
      maxRecordBytes: defaults.enqueueMaxRecordBytes,
    });
    expect(summary([...reader.push(Buffer.from('a;"b;c"\n')), ...reader.end()])).toEqual([
      { line: 1, fields: ['a', 'b;c'] },
    ]);
    expect(() => new CsvRecordReader({ delimiter: '"', maxRecordBytes: 1024 })).toThrow(RangeError);
    expect(() => new CsvRecordReader({ delimiter: ';;', maxRecordBytes: 1024 })).toThrow(
      RangeError,
    );
  });
});
