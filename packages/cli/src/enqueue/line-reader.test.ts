import { defaults } from '@flow-dispatcher/shared/config';
import { describe, expect, it } from 'vitest';
import { type LineEvent, LineReader } from './line-reader.js';

function read(bytes: Buffer, size: number, maxLineBytes?: number): LineEvent[] {
  const reader = new LineReader({ maxLineBytes: maxLineBytes ?? defaults.enqueueMaxRecordBytes });
  const events: LineEvent[] = [];
  for (let i = 0; i < bytes.length; i += size)
    events.push(...reader.push(bytes.subarray(i, i + size)));
  return [...events, ...reader.end()];
}

describe('LineReader', () => {
  it.each([1, 4, 1_000])('splits LF and CRLF lines, skips blank ones (chunks of %i)', (size) => {
    const events = read(Buffer.from('{"a":1}\r\n\n  \n{"b":"é"}\n{"c":3}'), size);
    expect(events.map((e) => (e.kind === 'line' ? [e.line, e.text] : [e.line, e.reason]))).toEqual([
      [1, '{"a":1}'],
      [4, '{"b":"é"}'],
      [5, '{"c":3}'],
    ]);
    expect(events.at(-1)?.endOffset).toBe(31);
  });

  it('reports a line that is not UTF-8, and one too long, and reads on', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"a":"'),
      Buffer.from([0xe9]),
      Buffer.from(`"}\n${'x'.repeat(40)}\nok\n`),
    ]);
    const events = read(bytes, 5, 20);
    expect(events.map((e) => [e.kind, e.line])).toEqual([
      ['invalid', 1],
      ['invalid', 2],
      ['line', 3],
    ]);
    expect(events[0]).toMatchObject({ reason: expect.stringMatching(/not valid UTF-8/) });
    expect(events[1]).toMatchObject({ reason: expect.stringMatching(/longer than 20 bytes/) });
  });
});
