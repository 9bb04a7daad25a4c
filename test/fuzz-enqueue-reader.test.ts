import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisKeys } from '@flow-dispatcher/shared';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { csvRows } from '../packages/cli/dist/enqueue/csv-source.js';
import { rowProblem } from '../packages/cli/dist/enqueue/enqueue-run.js';
import { ndjsonRows } from '../packages/cli/dist/enqueue/ndjson-source.js';
import type { RowMapping, SourceRow } from '../packages/cli/dist/enqueue/source-row.js';
import { runCli } from './support/cli-process.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

/**
 * Property-based fuzzing of the file readers behind `flow-dispatcher enqueue FLOW FILE` (CSV and
 * NDJSON): whatever the bytes and however they arrive in chunks, the reader never throws (except
 * the documented refusals of a file that cannot be read at all: a bad CSV header, UTF-16), every
 * row comes out once, in order, with its line number, as a trigger or as a reported problem, and
 * a bad row never costs the rows after it.
 */

const noMapping: RowMapping = {
  rename: new Map(),
  drop: new Set(),
  json: new Set(),
  keyColumn: undefined,
};

/** What a run would do with each row: `ok`, or the reason it is rejected (reader or trigger check). */
interface Verdict {
  line: number;
  lastLine: number;
  ok: boolean;
  reason?: string;
  input?: unknown;
}

async function read(
  format: 'csv' | 'ndjson',
  bytes: Uint8Array,
  cuts: number[],
  mapping: RowMapping = noMapping,
): Promise<Verdict[]> {
  async function* chunks() {
    let at = 0;
    for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
      yield bytes.subarray(at, cut);
      at = cut;
    }
    yield bytes.subarray(at);
  }
  const rows: AsyncIterable<SourceRow> =
    format === 'csv' ? csvRows(chunks(), mapping) : ndjsonRows(chunks(), mapping);
  const verdicts: Verdict[] = [];
  for await (const row of rows) {
    if ('problem' in row) {
      verdicts.push({ line: row.line, lastLine: row.lastLine, ok: false, reason: row.problem });
      continue;
    }
    const problem = rowProblem(row.input, row.key);
    verdicts.push(
      problem
        ? { line: row.line, lastLine: row.lastLine, ok: false, reason: problem }
        : { line: row.line, lastLine: row.lastLine, ok: true, input: row.input },
    );
  }
  return verdicts;
}

/** Rows in order, each with a line number within the file, none overlapping. */
function expectWellNumbered(verdicts: Verdict[], bytes: Uint8Array): void {
  const lines = bytes.reduce((n, b) => (b === 0x0a ? n + 1 : n), 1);
  let previous = 0;
  for (const v of verdicts) {
    expect(Number.isInteger(v.line)).toBe(true);
    expect(v.line).toBeGreaterThan(previous);
    expect(v.lastLine).toBeGreaterThanOrEqual(v.line);
    expect(v.lastLine).toBeLessThanOrEqual(lines);
    if (!v.ok) expect(v.reason).toMatch(/\S/);
    previous = v.lastLine;
  }
}

const isUsageError = (err: unknown) => (err as { code?: string })?.code === 'USAGE';

const cutsOf = (max: number) => fc.array(fc.integer({ min: 0, max }), { maxLength: 8 });

// A CSV cell written the way a spreadsheet would, and the value it stands for.
const cellValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('a,b', 'say "hi"', 'two\nlines', 'crlf\r\ninside', 'é ü 漢 🎉', ' spaced ', ''),
);
const quote = (value: string) =>
  /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

/** Broken CSV records, each on one physical line. */
const brokenCsvRecord = fc.constantFrom(
  '0PKbad0000000000001,bad"quote,x',
  '"0PKbad0000000000002" junk,x,y',
  '0PKbad0000000000003,only-two',
  '0PKbad0000000000004,x,y,extra',
  ',no-id,x',
);

describe('fuzz: enqueue file readers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fd-fuzz-enqueue-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('NDJSON: random bytes in any chunking give the same rows, each numbered, no throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2_000 }),
          fc
            .tuple(
              fc.array(fc.oneof(fc.json(), fc.string({ maxLength: 40 }), fc.constant('')), {
                maxLength: 30,
              }),
              fc.constantFrom('\n', '\r\n'),
            )
            .map(([lines, eol]) => new TextEncoder().encode(lines.join(eol))),
        ),
        cutsOf(2_000),
        async (bytes, cuts) => {
          let whole: Verdict[];
          try {
            whole = await read('ndjson', bytes, []);
          } catch (err) {
            // Only a UTF-16/32 byte order mark stops an NDJSON read outright.
            expect(isUsageError(err)).toBe(true);
            expect(bytes[0] === 0xff || bytes[0] === 0xfe || bytes[0] === 0).toBe(true);
            return;
          }
          expectWellNumbered(whole, bytes);
          expect(await read('ndjson', bytes, cuts)).toEqual(whole);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('NDJSON: bad lines are reported at their line numbers and the good ones all come through', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc
                .record({
                  IndividualId: fc.stringMatching(/^0PK[A-Za-z0-9]{15}$/),
                  Score: fc.integer(),
                  Nested: fc.record({ Level: fc.string({ maxLength: 5 }) }),
                })
                .map((input) => ({ good: true, text: JSON.stringify(input) })),
            },
            fc
              .constantFrom(
                '{"IndividualId": "0PKbad00000000001",}',
                '["not", "an", "object"]',
                '42',
                '{"Email": "no id"}',
                '{"IndividualId": ""}',
                '{"IndividualId": "0PKproto000000001", "__proto__": {"polluted": true}}',
                '{"IndividualId": "0PKctor0000000001", "constructor": {"prototype": {"polluted": true}}}',
                '{"IndividualId": "0PKname0000000001", "bad-name": 1}',
                `{"IndividualId": "0PKdeep0000000001", "A": ${'{"B":'.repeat(20)}1${'}'.repeat(20)}}`,
                `{"IndividualId": "${'x'.repeat(300)}"}`,
                '{"IndividualId": "0PKtrunc00000000',
                '\uFFFF{"IndividualId": "0PKjunk000000001"}',
              )
              .map((text) => ({ good: false, text })),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        fc.constantFrom('\n', '\r\n'),
        cutsOf(4_000),
        async (lines, eol, cuts) => {
          const bytes = new TextEncoder().encode(lines.map((l) => l.text).join(eol));
          const verdicts = await read('ndjson', bytes, cuts);
          expect(verdicts.map((v) => v.line)).toEqual(lines.map((_, i) => i + 1));
          lines.forEach((line, i) => {
            const verdict = verdicts[i] as Verdict;
            expect(verdict.ok, `line ${i + 1}: ${line.text} → ${verdict.reason}`).toBe(line.good);
            if (line.good) expect(verdict.input).toEqual(JSON.parse(line.text));
          });
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('CSV: random bytes after a good header give the same rows in any chunking, no throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2_000 }),
          fc.string({ maxLength: 600 }).map((s) => new TextEncoder().encode(s)),
          fc
            .array(fc.constantFrom('"', ',', '\n', '\r\n', '""', 'x', 'é', '\r', ' '), {
              maxLength: 300,
            })
            .map((parts) => new TextEncoder().encode(parts.join(''))),
        ),
        cutsOf(2_100),
        async (body, cuts) => {
          const header = new TextEncoder().encode('IndividualId,Note,Phone\n');
          const bytes = new Uint8Array(header.length + body.length);
          bytes.set(header);
          bytes.set(body, header.length);
          const whole = await read('csv', bytes, []);
          expectWellNumbered(whole, bytes);
          expect(await read('csv', bytes, cuts)).toEqual(whole);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('CSV: random headers either stop the run with a usage error or read every row', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        try {
          expectWellNumbered(await read('csv', bytes, []), bytes);
        } catch (err) {
          if (!isUsageError(err)) throw err;
          expect((err as Error).message).toMatch(/\S/);
          expect((err as Error).message).not.toMatch(/\n/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('CSV: quoted cells round-trip; broken records are reported at their lines, the rest read on', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            {
              weight: 4,
              arbitrary: fc
                .tuple(fc.stringMatching(/^0PK[A-Za-z0-9]{15}$/), cellValue, cellValue)
                .map(([id, note, phone]) => ({ good: true as const, cells: [id, note, phone] })),
            },
            brokenCsvRecord.map((text) => ({ good: false as const, text })),
          ),
          { minLength: 1, maxLength: 30 },
        ),
        fc.constantFrom('\n', '\r\n'),
        cutsOf(3_000),
        async (records, eol, cuts) => {
          const texts = records.map((r) => (r.good ? r.cells.map(quote).join(',') : r.text));
          const bytes = new TextEncoder().encode(
            `IndividualId,Note,Phone${eol}${texts.join(eol)}${eol}`,
          );
          const verdicts = await read('csv', bytes, cuts);
          expect(verdicts).toHaveLength(records.length);
          // Line numbers: the header is line 1; a record spans as many lines as its cells hold.
          let line = 2;
          records.forEach((record, i) => {
            const verdict = verdicts[i] as Verdict;
            const span = (texts[i]?.match(/\n/g)?.length ?? 0) + 1;
            expect(verdict.line, texts[i]).toBe(line);
            expect(verdict.lastLine).toBe(line + span - 1);
            line += span;
            expect(verdict.ok, `${texts[i]} → ${verdict.reason}`).toBe(record.good);
            if (record.good) {
              const [id, note, phone] = record.cells;
              const expected: Record<string, string> = { IndividualId: id as string };
              if (note) expected.Note = note;
              if (phone) expected.Phone = phone;
              expect(verdict.input).toEqual(expected);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the enqueue command reports every bad row of a messy file by line, and stores the rest', async () => {
    // One process-level run per format over a generated file, into Redis.
    for (const format of ['csv', 'ndjson'] as const) {
      const prefix = uniquePrefix(`fuzz-enqueue-${format}`);
      const good = 500; // good rows; 50 more are broken (every 11th of the 550)
      const lines: string[] = format === 'csv' ? ['IndividualId,Note'] : [];
      const bad = new Set<number>();
      for (let i = 0; i < good + 50; i++) {
        const lineNumber = lines.length + 1;
        if (i % 11 === 5) {
          bad.add(lineNumber);
          lines.push(
            format === 'csv' ? `0PKbadrow${i},"broken"x` : `{"IndividualId": "0PKbadrow${i}",`,
          );
        } else {
          const id = `0PKrow${String(i).padStart(12, '0')}`;
          lines.push(
            format === 'csv'
              ? `${id},"note, ${i}"`
              : JSON.stringify({ IndividualId: id, Note: `n${i}` }),
          );
        }
      }
      const file = join(dir, `messy.${format}`);
      const rejects = join(dir, `messy.${format}.rejects.ndjson`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      const run = await runCli(
        ['enqueue', 'Welcome_SMS', file, '--no-progress', '--json', '--rejects', rejects],
        { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix },
      );
      const redis = new Redis(TEST_REDIS_URL);
      const pending = await redis.hget(new RedisKeys(prefix).pending, 'Welcome_SMS');
      redis.disconnect();
      await deletePrefix(TEST_REDIS_URL, prefix);
      expect(run.stderr).not.toMatch(/TypeError|RangeError|at .*\.js:\d+/);
      const summary = JSON.parse(run.stdout) as { accepted: number; rejected: number };
      expect(summary.rejected).toBe(bad.size);
      expect(summary.accepted).toBe(good + 50 - bad.size);
      expect(Number(pending)).toBe(summary.accepted);
      const reported = readFileSync(rejects, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { line: number }).line);
      expect(new Set(reported)).toEqual(bad);
    }
  });
});
