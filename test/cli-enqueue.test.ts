import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alwaysAvailableInputs,
  type Simulator,
  simulatorDefaults,
  startSimulator,
} from '@flow-dispatcher/simulator';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI_BIN, runCli } from './support/cli-process.js';
import { fleetEnv, startInProcessWorker, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, keysUnder, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const id = (prefix: string, i: number) => `${prefix}${String(i).padStart(18 - prefix.length, '0')}`;

/** Writes a CSV of `rows` rows (header included) without building it in memory. */
async function writeCsv(path: string, rows: number, row: (i: number) => string, header: string) {
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  for (let i = 0; i < rows; i++) {
    if (!out.write(`${row(i)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

/** Peak resident memory of a running process so far (VmHWM), in bytes; undefined once it exited. */
function peakRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

describe('flow-dispatcher enqueue', () => {
  let dir: string;
  let prefix: string;
  let redis: Redis;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fd-cli-enqueue-'));
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(() => {
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    prefix = uniquePrefix('cli-enqueue');
    env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix };
  });
  afterEach(async () => {
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  const pending = async (flow: string) =>
    Number((await redis.hget(`{${prefix}}:pending`, flow)) ?? 0);

  it('streams a 200,000-row CSV in bounded memory: four times the rows, about the same peak', async () => {
    // The command's peak resident memory for 50,000 rows and for 200,000, each run with both of
    // V8's spaces capped (old space 96 MB, semi-spaces 4 MB: left alone, V8 sizes its heap
    // lazily, Node 24 grew its young generation with the work to 215 MB once in CI, and the peak
    // said how the machine was sized rather than what the command holds). Streaming, the larger
    // file costs a few MB more (measured: 115 → 118 MB); a command holding its parsed rows costs
    // about 300 bytes a row (measured: 108 → 162 MB from 20,000 rows when enqueue-run collected
    // them first). The
    // bound, under half of that a row, tells the two apart whatever else the machine is doing:
    // both runs share it, and the difference is what the file's size added.
    const peaks: number[] = [];
    for (const rows of [50_000, 200_000]) {
      const file = join(dir, `backfill-${rows}.csv`);
      await writeCsv(
        file,
        rows,
        (i) =>
          `${id('0PKbig', i)},user${i}@example.com,+1555${String(i).padStart(7, '0')},C-${i % 977}`,
        'IndividualId,EmailAddress,TelephoneNumber,Coupon_Code',
      );
      const before = await pending('Welcome_SMS');
      const run = await enqueueMeasured(file, env);
      // No Salesforce credentials in this run: the one line of stderr says the check was skipped.
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^flow-dispatcher: the file was not checked against flow Welcome_SMS's inputs: no Salesforce credentials are configured/,
        ),
      ]);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        rows,
        accepted: rows,
        duplicates: 0,
        rejected: 0,
        rejectsFile: null,
      });
      expect((await pending('Welcome_SMS')) - before).toBe(rows);
      expect(run.peak).toBeGreaterThan(0);
      peaks.push(run.peak);
    }
    const [small = 0, large = 0] = peaks;
    console.info(
      `enqueue peak RSS: 50,000 rows ${Math.round(small / 2 ** 20)} MB, 200,000 rows ${Math.round(large / 2 ** 20)} MB`,
    );
    expect(large - small).toBeLessThan(150_000 * 140);
  });

  it('sends nothing twice when a crashed run is re-run with --key-column', async () => {
    const sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    // With Salesforce credentials: the file is checked against the flow's describe (it passes).
    env = fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url });
    try {
      const total = 4_000;
      const lines = Array.from(
        { length: total },
        (_, i) => `${id('0PKkey', i)},order-${i},+1555${String(i).padStart(7, '0')}`,
      );
      const header = 'IndividualId,order_id,TelephoneNumber';
      const file = join(dir, 'keyed.csv');
      writeFileSync(file, `${header}\n${lines.join('\n')}\n`);
      const args = (source: string) => [
        'enqueue',
        'Welcome_SMS',
        source,
        '--format',
        'csv',
        '--key-column',
        'order_id',
        '--drop-column',
        'order_id',
        '--batch-size',
        '500',
        '--json',
      ];

      // The first run reads stdin; it is killed (no goodbye) once 1,500 rows are stored and it
      // waits for more input: a crash in the middle of the file.
      const crashed = spawn(process.execPath, [CLI_BIN, ...args('-')], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      crashed.stdin.write(`${header}\n${lines.slice(0, 1_500).join('\n')}\n`);
      await waitFor(
        async () => (await pending('Welcome_SMS')) + sim.stats().deliveries.total >= 1_500,
        {
          message: 'the first 1,500 rows stored',
        },
      );
      crashed.kill('SIGKILL');
      await once(crashed, 'exit');

      const rerun = await runCli(args(file), env);
      expect(rerun.stderr).toBe('');
      expect(rerun.code).toBe(0);
      expect(JSON.parse(rerun.stdout)).toMatchObject({
        rows: total,
        accepted: total - 1_500,
        duplicates: 1_500,
        rejected: 0,
      });
      await waitFor(() => sim.stats().deliveries.unique === total, {
        message: 'every row delivered',
        timeoutMs: 60_000,
      });

      // And once more after everything was delivered: all duplicates, nothing sent.
      const again = await runCli(args(file), env);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0, duplicates: total });
      await waitFor(async () => (await pending('Welcome_SMS')) === 0, { message: 'settled' });
      const deliveries = sim.deliveries();
      expect(deliveries.size).toBe(total);
      expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
      expect(sim.stats().deliveries).toEqual({ unique: total, total, duplicates: 0 });
    } finally {
      await worker.close();
      await sim.close();
    }
  });

  it('reports malformed rows with line numbers, enqueues the rest, and delivers typed NDJSON', async () => {
    const file = join(dir, 'mixed.csv');
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('IndividualId,EmailAddress,Coupon_Code\n'), // line 1
        Buffer.from(`${id('0PKok', 1)},a@example.com,SPRING\n`), // 2
        Buffer.from(`${id('0PKok', 2)},b@example.com\n`), // 3: a column missing
        Buffer.from(`${id('0PKok', 3)},"c@example.com" x,SPRING\n`), // 4: text after a quote
        Buffer.from(`${id('0PKok', 4)},`), // 5: Latin-1, not UTF-8
        Buffer.from([0x66, 0xe9, 0x74, 0xe9]),
        Buffer.from(',SPRING\n'),
        Buffer.from(`,d@example.com,SPRING\n`), // 6: no IndividualId
        Buffer.from(`${id('0PKok', 6)},"multi\nline",SPRING\n`), // 7-8: fine (a quoted newline)
        Buffer.from(`${id('0PKok', 7)},e@example.com,"never closed\n`), // 9: quote never closed
      ]),
    );
    const result = await runCli(['enqueue', 'Welcome_SMS', file, '--json'], env);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ rows: 7, accepted: 2, duplicates: 0, rejected: 5 });
    expect(summary.rejectsFile).toBe(`${file}.rejects.ndjson`);
    const rejects = (await readFile(summary.rejectsFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [3, 'has 2 field(s), the header has 3'],
      [4, expect.stringMatching(/^unexpected text after the closing quote of column 2/)],
      [5, expect.stringMatching(/^column 2 is not valid UTF-8/)],
      [6, 'IndividualId is required and must be a non-empty string'],
      [9, 'a quoted field (column 3) is never closed'],
    ]);
    expect(rejects[0].cells).toEqual({
      IndividualId: id('0PKok', 2),
      EmailAddress: 'b@example.com',
      Coupon_Code: '',
    });
    expect(await pending('Welcome_SMS')).toBe(2);

    // NDJSON carries types: a nested object reaches Salesforce as one.
    const sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    const worker = await startInProcessWorker(
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url }),
    );
    try {
      const ndjson = join(dir, 'orders.ndjson');
      writeFileSync(
        ndjson,
        [
          JSON.stringify({
            IndividualId: id('0PKord', 1),
            customInput: { Order_Number: 'A-1', Lines: [{ Sku: 'X', Qty: 2 }] },
          }),
          '',
          '{"IndividualId": "unterminated',
          JSON.stringify({ IndividualId: id('0PKord', 2), EmailAddress: 'o@example.com' }),
        ].join('\n'),
      );
      const typed = await runCli(['enqueue', 'Order_Confirmation_Email', ndjson, '--json'], env);
      expect(typed.code).toBe(0);
      expect(JSON.parse(typed.stdout)).toMatchObject({ rows: 3, accepted: 2, rejected: 1 });
      const [reject] = (await readFile(`${ndjson}.rejects.ndjson`, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(reject).toMatchObject({ line: 3, reason: expect.stringMatching(/^not valid JSON/) });
      await waitFor(() => sim.stats().deliveries.unique === 4, { message: 'four deliveries' });
      expect(sim.stats().inputs.failed).toBe(0);
    } finally {
      await worker.close();
      await sim.close();
    }
  });

  it('schedules rows from --not-before-column, with the priority of --priority, and rejects a bad instant', async () => {
    const file = join(dir, 'scheduled.csv');
    const at = new Date(Date.now() + 3_600_000).toISOString();
    writeFileSync(
      file,
      [
        'IndividualId,send_at',
        `${id('0PKsch', 1)},${at}`, // scheduled
        `${id('0PKsch', 2)},`, // empty: at once
        `${id('0PKsch', 3)},2026-12-24 09:00`, // no zone: rejected
      ].join('\n'),
    );
    const result = await runCli(
      [
        'enqueue',
        'Welcome_SMS',
        file,
        '--json',
        '--not-before-column',
        'send_at',
        '--priority',
        'high',
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ rows: 3, accepted: 2, rejected: 1 });
    const rejects = readFileSync(`${file}.rejects.ndjson`, 'utf8');
    expect(rejects).toContain('notBefore must be an ISO-8601 instant with a zone');
    expect(await pending('Welcome_SMS')).toBe(2);
    expect(await redis.hget(`{${prefix}}:scheduled`, 'Welcome_SMS')).toBe('1');
    // Two chunks, both high: one due in an hour (delayed), one at once.
    const queue = `{${prefix}}:q:Welcome_SMS`;
    expect(await redis.zcard(`${queue}:delayed`)).toBe(1);
    expect(await redis.zcard(`${queue}:prioritized`)).toBe(1);
    const [ready] = await redis.zrange(`${queue}:prioritized`, 0, 0);
    expect(await redis.hget(`${queue}:${ready}`, 'priority')).toBe('1');

    const both = await runCli(
      ['enqueue', 'Welcome_SMS', file, '--not-before-column', 'send_at', '--delay', '5'],
      env,
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toBe(
      'flow-dispatcher: --not-before-column and --not-before/--delay: choose one\n',
    );
  });

  it('exits 2 with line numbers when no valid row remains, and for header problems', async () => {
    const bad = join(dir, 'all-bad.csv');
    writeFileSync(bad, 'IndividualId,EmailAddress\n"x" y,a@example.com\n0PK1\n,b@example.com\n');
    const result = await runCli(['enqueue', 'Welcome_SMS', bad], env);
    expect(result.code).toBe(2);
    const reason = result.stderr.trim().split('\n');
    expect(reason).toHaveLength(1);
    expect(reason[0]).toMatch(
      /^flow-dispatcher: no valid rows: all 3 rejected \(line 2: .+; line 3: has 1 field\(s\), the header has 2; line 4: IndividualId is required/,
    );
    expect(reason[0]).toContain(`${bad}.rejects.ndjson`);
    expect(await redis.exists(`{${prefix}}:flows`)).toBe(0);

    const cases: [string, string | Buffer, RegExp][] = [
      ['no-id.csv', 'Email,Phone\na@example.com,1\n', /no IndividualId column/],
      [
        'spaces.csv',
        'IndividualId,First Name\n0PK1,Ann\n',
        /"First Name" is not a Salesforce input name/,
      ],
      ['empty.csv', '', /the file is empty/],
      ['header-only.csv', 'IndividualId\n', /no rows to enqueue/],
      [
        'utf16.csv',
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('IndividualId\n', 'utf16le')]),
        /UTF-16/,
      ],
    ];
    for (const [name, content, message] of cases) {
      const path = join(dir, name);
      writeFileSync(path, content);
      const r = await runCli(['enqueue', 'Welcome_SMS', path], env);
      expect(r.code, name).toBe(2);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.stderr, name).toMatch(message);
    }
    const missing = await runCli(['enqueue', 'Welcome_SMS', join(dir, 'nope.csv')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.csv: no such file/);
  });

  it('validates without enqueueing on --dry-run', async () => {
    const file = join(dir, 'dry.csv');
    writeFileSync(file, `IndividualId,EmailAddress\n${id('0PKdry', 1)},a@example.com\n,x\n`);
    const result = await runCli(['enqueue', 'Welcome_SMS', file, '--dry-run'], {
      ...env,
      REDIS_URL: 'redis://127.0.0.1:1', // a dry run needs no Redis
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^dry run: 2 row\(s\)/);
    expect(result.stdout).toMatch(/valid\s+1\s+\(nothing was enqueued\)/);
    expect(result.stdout).toMatch(/rejected\s+1/);
    expect(await readFile(`${file}.rejects.ndjson`, 'utf8')).toContain('"line":3');
  });
});

describe('flow-dispatcher enqueue: the key column and the describe check', () => {
  let dir: string;
  let prefix: string;
  let sim: Simulator;
  let env: Record<string, string>;
  let redis: Redis;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fd-cli-enqueue-describe-'));
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(() => {
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    prefix = uniquePrefix('cli-enqueue-describe');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    sim.configure({
      flows: {
        ...simulatorDefaults.flows,
        Store_Pickup_SMS: {
          label: 'Store pickup SMS',
          inputs: [
            ...alwaysAvailableInputs,
            { name: 'Store_Code', type: 'STRING', required: true },
          ],
        },
      },
    });
    // The worker's Salesforce credentials, pointed at the simulator.
    env = fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url });
  });
  afterEach(async () => {
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  /** Describe requests the simulator received: enqueue makes no other /services/data request. */
  const describes = () => sim.stats().apiUsage.used;
  const oneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0] as string;
  };

  it("--key-column keys the rows without sending the key: the issue's run, in small", async () => {
    const total = 1_000;
    const signups = (from: number, n: number) =>
      Array.from(
        { length: n },
        (_, i) =>
          `${id('0PKsig', from + i)},+1555${String(from + i).padStart(7, '0')},su-${from + i}`,
      );
    const file = join(dir, 'signups.csv');
    writeFileSync(
      file,
      `IndividualId,TelephoneNumber,signup_id\n${signups(0, total).join('\n')}\n`,
    );
    const args = (source: string, ...more: string[]) => [
      'enqueue',
      'Welcome_SMS',
      source,
      '--key-column',
      'signup_id',
      '--json',
      '--no-progress',
      ...more,
    ];

    // --key-as-input sends the column as an input: Welcome_SMS does not declare it, so the
    // describe check refuses the file before anything is written.
    const refused = await runCli(args(file, '--key-as-input'), env);
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toMatch(
      /^flow-dispatcher: column "signup_id" is not an input of flow Welcome_SMS, which takes IndividualId, EmailAddress, TelephoneNumber, Coupon_Code: it is the key column, so leave out --key-as-input/,
    );
    expect(await keysUnder(TEST_REDIS_URL, prefix)).toEqual([]);

    // Without it: every row is keyed, none carries signup_id, and a worker delivers them all.
    const run = await runCli(args(file), env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      rows: total,
      accepted: total,
      rejected: 0,
      describeChecked: true,
    });
    const worker = await startWorkerProcess(env);
    try {
      await waitFor(() => sim.stats().deliveries.unique === total, {
        message: 'every signup delivered',
        timeoutMs: 60_000,
      });
      // The simulator refuses an input the flow does not declare (as Salesforce does): none was.
      expect(sim.stats().inputs).toEqual({ received: total, succeeded: total, failed: 0 });
      expect(sim.stats().deliveries.duplicates).toBe(0);
      // The key still works: the same file again stores nothing.
      const again = await runCli(args(file), env);
      expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0, duplicates: total });

      // --key-as-input past the check (--no-describe-check): the key reaches Salesforce as an
      // input, and Salesforce refuses it by name.
      const more = join(dir, 'more-signups.csv');
      writeFileSync(
        more,
        `IndividualId,TelephoneNumber,signup_id\n${signups(total, 20).join('\n')}\n`,
      );
      const unchecked = await runCli([...args(more, '--key-as-input', '--no-describe-check')], env);
      expect(unchecked.stderr).toBe('');
      expect(JSON.parse(unchecked.stdout)).toMatchObject({
        accepted: 20,
        describeChecked: false,
      });
      // Every input refused alike, call after call: the flow's breaker holds the flow (a
      // sender's systematic mistake) instead of dead-lettering the triggers.
      const held = await waitFor(
        async () => {
          const flows = JSON.parse((await runCli(['flows', '--json'], env)).stdout) as {
            flows: {
              flow: string;
              held: { reason: string; code: string; message: string } | null;
            }[];
          };
          return flows.flows.find((f) => f.flow === 'Welcome_SMS')?.held ?? undefined;
        },
        { message: 'the flow held by its breaker', timeoutMs: 60_000, intervalMs: 250 },
      );
      expect(held).toMatchObject({ reason: 'breaker', code: 'INVALID_INPUT' });
      expect(held.message).toContain('Invalid input parameter: signup_id');
      expect(sim.stats().inputs.failed).toBeGreaterThan(0);
      expect(sim.stats().deliveries.unique).toBe(total);
      const letters = JSON.parse(
        (await runCli(['dlq', 'list', '--flow', 'Welcome_SMS', '--json'], env)).stdout,
      );
      expect(letters.total).toBe(0);
    } finally {
      await worker.kill();
    }
  });

  it('refuses a column the flow does not declare before writing anything; --drop-column and --map fix it', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => `${id('0PKcol', i)},web,SPRING${i}`);
    const file = join(dir, 'campaign.csv');
    writeFileSync(file, `IndividualId,Signup_Source,Coupon\n${rows.join('\n')}\n`);
    const enqueue = (...more: string[]) =>
      runCli(['enqueue', 'Welcome_SMS', file, '--json', '--no-progress', ...more], env);

    const refused = await enqueue('--map', 'Coupon=Coupon_Code');
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toBe(
      'flow-dispatcher: column "Signup_Source" is not an input of flow Welcome_SMS, which takes IndividualId, EmailAddress, TelephoneNumber, Coupon_Code: leave it out with --drop-column Signup_Source, or send it as one of those with --map Signup_Source=INPUT',
    );
    expect(await keysUnder(TEST_REDIS_URL, prefix)).toEqual([]);
    // Each command that fixes one column finds the next.
    const next = await enqueue('--drop-column', 'Signup_Source');
    expect(next.code).toBe(2);
    expect(oneLine(next.stderr)).toMatch(/^flow-dispatcher: column "Coupon" is not an input/);
    expect(await keysUnder(TEST_REDIS_URL, prefix)).toEqual([]);

    const fixed = await enqueue('--drop-column', 'Signup_Source', '--map', 'Coupon=Coupon_Code');
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ accepted: 50, describeChecked: true });

    // Case matters to Salesforce: the fix names the declared spelling.
    const cased = join(dir, 'cased.ndjson');
    writeFileSync(
      cased,
      `${JSON.stringify({ IndividualId: id('0PKcas', 1), coupon_code: 'X' })}\n`,
    );
    const wrongCase = await runCli(['enqueue', 'Welcome_SMS', cased], env);
    expect(wrongCase.code).toBe(2);
    expect(oneLine(wrongCase.stderr)).toBe(
      'flow-dispatcher: field "coupon_code" is not an input of flow Welcome_SMS, which takes Coupon_Code (names are case-sensitive): send it as that with --map coupon_code=Coupon_Code',
    );
    const mapped = await runCli(
      ['enqueue', 'Welcome_SMS', cased, '--map', 'coupon_code=Coupon_Code', '--json'],
      env,
    );
    expect(JSON.parse(mapped.stdout)).toMatchObject({ accepted: 1 });
    expect(await redis.hget(`{${prefix}}:pending`, 'Welcome_SMS')).toBe('51');
  });

  it('refuses a missing required input and a flow Salesforce does not have; rejects rows leaving a required input empty', async () => {
    const noStore = join(dir, 'no-store.csv');
    writeFileSync(noStore, `IndividualId\n${id('0PKst', 1)}\n`);
    const missing = await runCli(['enqueue', 'Store_Pickup_SMS', noStore], env);
    expect(missing.code).toBe(2);
    expect(oneLine(missing.stderr)).toBe(
      'flow-dispatcher: flow Store_Pickup_SMS requires input Store_Code, and no column is sent as it: add it, or name the column that holds it with --map COLUMN=Store_Code',
    );
    const unknownFlow = await runCli(['enqueue', 'Welcome_SMSS', noStore], env);
    expect(unknownFlow.code).toBe(2);
    expect(oneLine(unknownFlow.stderr)).toMatch(
      /^flow-dispatcher: flow Welcome_SMSS was not found in Salesforce .*pass --no-describe-check to enqueue anyway$/,
    );
    expect(await keysUnder(TEST_REDIS_URL, prefix)).toEqual([]);

    const someEmpty = join(dir, 'some-empty.csv');
    writeFileSync(
      someEmpty,
      `IndividualId,Store_Code\n${id('0PKst', 1)},S1\n${id('0PKst', 2)},\n${id('0PKst', 3)},S3\n`,
    );
    const partial = await runCli(['enqueue', 'Store_Pickup_SMS', someEmpty, '--json'], env);
    expect(partial.code).toBe(0);
    expect(JSON.parse(partial.stdout)).toMatchObject({ accepted: 2, rejected: 1 });
    const [reject] = (await readFile(`${someEmpty}.rejects.ndjson`, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(reject).toMatchObject({
      line: 3,
      reason: 'missing required input "Store_Code" of flow Store_Pickup_SMS',
    });
  });

  it('skips the check, saying so, without credentials; --no-describe-check asks nothing', async () => {
    const file = join(dir, 'unchecked.csv');
    writeFileSync(file, `IndividualId,Anything\n${id('0PKun', 1)},x\n`);
    const before = describes();
    const quiet = await runCli(
      ['enqueue', 'Welcome_SMS', file, '--no-describe-check', '--json'],
      env,
    );
    expect(quiet.stderr).toBe('');
    expect(JSON.parse(quiet.stdout)).toMatchObject({ accepted: 1, describeChecked: false });
    expect(describes()).toBe(before);

    const noCredentials = await runCli(['enqueue', 'Welcome_SMS', file, '--json'], {
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
    });
    expect(noCredentials.code).toBe(0);
    expect(oneLine(noCredentials.stderr)).toMatch(
      /^flow-dispatcher: the file was not checked against flow Welcome_SMS's inputs: no Salesforce credentials are configured/,
    );
    expect(JSON.parse(noCredentials.stdout)).toMatchObject({ accepted: 1, describeChecked: false });

    // Credentials configured but Salesforce unreachable: the check cannot run, so nothing is sent.
    const down = await startSimulator({ port: 0 });
    await down.close();
    const otherPrefix = uniquePrefix('cli-enqueue-sf-down');
    const unreachable = await runCli(
      ['enqueue', 'Welcome_SMS', file],
      fleetEnv({ redisUrl: TEST_REDIS_URL, prefix: otherPrefix, simulatorUrl: down.url }),
    );
    expect(unreachable.code).toBe(1);
    expect(oneLine(unreachable.stderr)).toMatch(
      /^flow-dispatcher: the describe of flow Welcome_SMS could not be read from Salesforce \(.+\); nothing was enqueued: try again, or pass --no-describe-check/,
    );
    expect(await keysUnder(TEST_REDIS_URL, otherPrefix)).toEqual([]);
  });
});

/** Runs `enqueue` on `file` with V8's spaces capped, sampling its peak resident memory. */
async function enqueueMeasured(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string; peak: number }> {
  const child = spawn(
    process.execPath,
    [CLI_BIN, 'enqueue', 'Welcome_SMS', file, '--json', '--no-progress'],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...env,
        NODE_OPTIONS: '--max-old-space-size=96 --max-semi-space-size=4',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let peak = 0;
  const pid = child.pid as number;
  const poll = setInterval(() => {
    peak = Math.max(peak, peakRss(pid) ?? 0);
  }, 25);
  // 'close': the output is all read (VmHWM is the process's own high-water mark, so the last
  // sample before it exits holds the peak).
  const [code] = (await once(child, 'close')) as [number | null];
  clearInterval(poll);
  return { code, stdout, stderr, peak };
}
