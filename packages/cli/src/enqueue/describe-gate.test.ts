import type { FlowDescribe } from '@flow-dispatcher/salesforce';
import { describe, expect, it } from 'vitest';
import { csvRows } from './csv-source.js';
import { DescribeGate } from './describe-gate.js';
import { ndjsonRows } from './ndjson-source.js';
import { NDJSON_CHECKED_ROWS, type RowMapping, type SourceRow } from './source-row.js';

const parameter = (name: string, required = false) => ({
  name,
  type: 'STRING',
  required,
  maxOccurs: 1,
  description: null,
  label: null,
});
const storePickup: FlowDescribe = {
  name: 'Store_Pickup_SMS',
  label: null,
  type: 'FLOW',
  inputs: [
    parameter('IndividualId', true),
    parameter('Store_Code', true),
    parameter('Coupon_Code'),
  ],
  outputs: [],
};
const mapping = (over: Partial<RowMapping> = {}): RowMapping => ({
  rename: new Map(),
  drop: new Set(),
  json: new Set(),
  keyColumn: undefined,
  ...over,
});
const gateFor = (format: 'csv' | 'ndjson', m: RowMapping = mapping()) =>
  new DescribeGate(storePickup, {
    format,
    keyColumn: m.keyColumn,
    keyAsInput: m.keyAsInput,
  });

async function collect(rows: AsyncIterable<SourceRow>): Promise<SourceRow[]> {
  const out: SourceRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}
async function* bytes(text: string, chunkSize = 7): AsyncGenerator<Uint8Array> {
  const all = Buffer.from(text);
  for (let i = 0; i < all.length; i += chunkSize) yield all.subarray(i, i + chunkSize);
}

describe('DescribeGate.checkColumns', () => {
  const columns = (...pairs: string[]) =>
    pairs.map((pair) => {
      const [column, input] = pair.split('=') as [string, string | undefined];
      return { column, input: input ?? column };
    });

  it('passes columns the flow declares, the always-available inputs included', () => {
    expect(() =>
      gateFor('csv').checkColumns(
        columns('IndividualId', 'Store_Code', 'EmailAddress', 'TelephoneNumber', 'Coupon_Code'),
      ),
    ).not.toThrow();
  });

  it.each([
    [
      columns('IndividualId', 'Store_Code', 'signup_id'),
      mapping(),
      'column "signup_id" is not an input of flow Store_Pickup_SMS, which takes IndividualId, Store_Code, Coupon_Code, EmailAddress, TelephoneNumber: leave it out with --drop-column signup_id, or send it as one of those with --map signup_id=INPUT',
    ],
    [
      columns('IndividualId', 'Store_Code', 'code=Store_Cod'),
      mapping(),
      'column "code" (sent as input Store_Cod) is not an input of flow Store_Pickup_SMS, which takes IndividualId, Store_Code, Coupon_Code, EmailAddress, TelephoneNumber: leave it out with --drop-column code, or send it as one of those with --map code=INPUT',
    ],
    [
      columns('IndividualId', 'Store_Code', 'coupon_code'),
      mapping(),
      'column "coupon_code" is not an input of flow Store_Pickup_SMS, which takes Coupon_Code (names are case-sensitive): send it as that with --map coupon_code=Coupon_Code',
    ],
    [
      columns('IndividualId', 'Store_Code', 'signup_id'),
      mapping({ keyColumn: 'signup_id', keyAsInput: true }),
      /it is the key column, so leave out --key-as-input to use it as the key only/,
    ],
    [
      columns('IndividualId'),
      mapping(),
      'flow Store_Pickup_SMS requires input Store_Code, and no column is sent as it: add it, or name the column that holds it with --map COLUMN=Store_Code',
    ],
  ])('refuses %j', (cols, m, message) => {
    expect(() => gateFor('csv', m).checkColumns(cols)).toThrow(message);
  });

  it('speaks of fields and of the first rows for NDJSON', () => {
    expect(() => gateFor('ndjson').checkColumns(columns('IndividualId'))).toThrow(
      `flow Store_Pickup_SMS requires input Store_Code, and none of the first ${NDJSON_CHECKED_ROWS} rows has it`,
    );
    expect(() =>
      gateFor('ndjson').checkColumns(columns('IndividualId', 'Store_Code', 'x')),
    ).toThrow(/^field "x" is not an input/);
  });

  it('rejects single rows the flow would refuse', () => {
    const gate = gateFor('ndjson');
    expect(gate.rowProblem({ IndividualId: 'a', Store_Code: 'S' })).toBeUndefined();
    expect(gate.rowProblem({ IndividualId: 'a' })).toMatch(/missing required input "Store_Code"/);
    expect(gate.rowProblem({ IndividualId: 'a', Store_Code: 'S', x: 1 })).toMatch(
      /unknown input "x"/,
    );
  });
});

describe('the sources run the check before passing any row on', () => {
  it('CSV: the header, with the key column left out unless sent', async () => {
    const file = 'IndividualId,Store_Code,signup_id\n0PK1,S1,k1\n';
    const keyed = mapping({ keyColumn: 'signup_id' });
    const rows = await collect(
      csvRows(bytes(file), keyed, { checkColumns: gateFor('csv', keyed).checkColumns }),
    );
    expect(rows).toMatchObject([{ input: { IndividualId: '0PK1', Store_Code: 'S1' }, key: 'k1' }]);
    const sent = mapping({ keyColumn: 'signup_id', keyAsInput: true });
    await expect(
      collect(csvRows(bytes(file), sent, { checkColumns: gateFor('csv', sent).checkColumns })),
    ).rejects.toThrow(/column "signup_id" is not an input/);
  });

  it('NDJSON: the fields of the first rows; the rows read ahead all come out, in order', async () => {
    const lines = Array.from({ length: NDJSON_CHECKED_ROWS + 50 }, (_, i) =>
      i === 3 ? '{"IndividualId":' : JSON.stringify({ IndividualId: `0PK${i}`, Store_Code: 'S' }),
    );
    const seen: string[][] = [];
    const rows = await collect(
      ndjsonRows(bytes(`${lines.join('\n')}\n`, 64), mapping(), {
        checkColumns: (columns) => seen.push(columns.map((c) => c.input)),
      }),
    );
    expect(seen).toEqual([['IndividualId', 'Store_Code']]);
    expect(rows.map((row) => row.line)).toEqual(lines.map((_, i) => i + 1));
    expect(rows[3]).toMatchObject({ problem: expect.stringMatching(/not valid JSON/) });

    // A field only a later row has is not seen by the check (that row is rejected by rowProblem).
    const late = [...lines.slice(0, NDJSON_CHECKED_ROWS), '{"IndividualId":"0PKx","Other":1}'];
    const gate = gateFor('ndjson');
    const all = await collect(
      ndjsonRows(bytes(late.join('\n')), mapping(), { checkColumns: gate.checkColumns }),
    );
    const last = all.at(-1);
    expect(last && 'input' in last && gate.rowProblem(last.input)).toMatch(/unknown input "Other"/);

    // A short file is checked once it ends; renamed fields are named as they are in the file.
    await expect(
      collect(
        ndjsonRows(
          bytes('{"id":"0PK1","Store_Code":"S","Shop":"x"}\n'),
          mapping({ rename: new Map([['id', 'IndividualId']]) }),
          { checkColumns: gateFor('ndjson').checkColumns },
        ),
      ),
    ).rejects.toThrow(/^field "Shop" is not an input/);
    const renamedSeen: { column: string; input: string }[][] = [];
    await collect(
      ndjsonRows(
        bytes('{"id":"0PK1","Store_Code":"S"}'),
        mapping({ rename: new Map([['id', 'IndividualId']]) }),
        { checkColumns: (columns) => renamedSeen.push([...columns]) },
      ),
    );
    expect(renamedSeen).toEqual([
      [
        { column: 'id', input: 'IndividualId' },
        { column: 'Store_Code', input: 'Store_Code' },
      ],
    ]);
  });
});
