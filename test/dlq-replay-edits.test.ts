import { spawn } from 'node:child_process';
import { Producer } from '@flow-dispatcher/producer';
import { alwaysAvailableInputs, type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_BIN, type CliProcess, runCli } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * `dlq replay --drop-input/--rename-input`: a sender's mistake (an input the flow does not have,
 * an input under the wrong name) dead-letters its triggers; replaying them with the fix delivers
 * them. The simulator refuses any input name its flow does not declare and requires Coupon_Code,
 * so a delivery shows the dropped and renamed names gone and the new name there.
 */

const ids = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => `0PK${tag}${String(i).padStart(15 - tag.length, '0')}`);
const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

/** Runs the CLI on a terminal (util-linux `script`), answering its question with `answer`. */
function runCliOnTerminal(
  args: string[],
  env: Record<string, string>,
  answer: string,
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, CLI_BIN, ...args].map((arg) => `'${arg}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    if (chunk.includes('[y/N]')) child.stdin.end(`${answer}\n`);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}

describe('dlq replay fixing what it sends', () => {
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  let env: Record<string, string>;
  let worker: CliProcess;

  beforeEach(async () => {
    prefix = uniquePrefix('dlq-edits');
    sim = await startSimulator({
      port: 0,
      latency: { kind: 'fixed', ms: 5 },
      flows: {
        Welcome_SMS: {
          label: 'Welcome SMS',
          inputs: [
            ...alwaysAvailableInputs,
            { name: 'Coupon_Code', type: 'STRING', required: true, label: 'Coupon Code' },
          ],
        },
      },
    });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    env = fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url });
    worker = await startWorkerProcess(env);
  });

  afterEach(async () => {
    await worker?.kill();
    await producer.close();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  it('drops an unknown input and renames a misnamed one, then delivers each trigger once', async () => {
    const good = ids('good', 20);
    const extra = ids('extra', 10); // a signup_id the flow does not have
    const misnamed = ids('misnm', 10); // Coupon instead of Coupon_Code, and the signup_id
    const both = ids('both', 5); // Coupon besides Coupon_Code
    // Mixed in one batch with good triggers: per-trigger mistakes, not a systematic failure.
    await producer.triggerMany('Welcome_SMS', [
      ...good.map((IndividualId, i) => ({ IndividualId, Coupon_Code: `G-${i}` })),
      ...extra.map((IndividualId, i) => ({
        IndividualId,
        Coupon_Code: `E-${i}`,
        signup_id: `s${i}`,
      })),
      ...misnamed.map((IndividualId, i) => ({
        IndividualId,
        signup_id: `s${i}`,
        Coupon: `M-${i}`,
      })),
      ...both.map((IndividualId, i) => ({ IndividualId, Coupon: `B-${i}`, Coupon_Code: `B-${i}` })),
    ]);
    await waitFor(async () => (await producer.deadLetters.count()) === 25, {
      message: '25 dead letters',
    });
    const delivered = () => sim.deliveries();
    expect(good.every((id) => delivered().get(id) === 1)).toBe(true);
    const letters = await producer.deadLetters.list({}, 100);
    expect(new Set(letters.map((letter) => letter.error.code))).toEqual(new Set(['INVALID_INPUT']));

    // The question says what will be changed; "n" changes nothing.
    const asked = await runCliOnTerminal(
      [
        'dlq',
        'replay',
        '--flow',
        'Welcome_SMS',
        '--drop-input',
        'signup_id',
        '--rename-input',
        'Coupon=Coupon_Code',
      ],
      env,
      'n',
    );
    expect(asked.output).toContain(
      'Replay 25 dead letter(s) (flow Welcome_SMS), dropping input signup_id, renaming Coupon to Coupon_Code? [y/N]',
    );
    expect(asked.output).toContain('cancelled: nothing replayed');
    expect(asked.code).toBe(0);

    // Letters with both names cannot be renamed: nothing at all is replayed.
    const conflict = await runCli(
      [
        'dlq',
        'replay',
        '--drop-input',
        'signup_id',
        '--rename-input',
        'Coupon=Coupon_Code',
        '--yes',
      ],
      env,
    );
    expect(conflict.code).toBe(2);
    expect(lines(conflict.stderr)).toHaveLength(1);
    expect(conflict.stderr).toMatch(
      /^flow-dispatcher: nothing replayed: 5 matching dead letter\(s\) cannot take the input edits \(Welcome_SMS\.\S+: it has both Coupon and Coupon_Code\)/,
    );
    expect(await producer.deadLetters.count()).toBe(25);

    // Bad flags: exit 2, one line, nothing replayed.
    for (const bad of [
      ['--rename-input', 'Coupon='],
      ['--drop-input', ''],
      ['--drop-input', 'IndividualId'],
    ]) {
      const refused = await runCli(['dlq', 'replay', ...bad, '--yes'], env);
      expect(refused.code).toBe(2);
      expect(lines(refused.stderr)).toHaveLength(1);
    }
    expect(await producer.deadLetters.count()).toBe(25);

    // Those five by id, dropping the stray name; then the others with both fixes.
    const bothIds = letters
      .filter((letter) => both.includes(letter.input.IndividualId as string))
      .map((letter) => letter.id);
    expect(
      await runCli(['dlq', 'replay', ...bothIds, '--drop-input', 'Coupon', '--yes'], env),
    ).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /^replayed 5 dead letter\(s\) \(5 listed id\(s\)\), dropping input Coupon;/,
      ),
    });
    const fixed = await runCli(
      [
        'dlq',
        'replay',
        '--drop-input',
        'signup_id',
        '--rename-input',
        'Coupon=Coupon_Code',
        '--yes',
        '--json',
      ],
      env,
    );
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(JSON.parse(fixed.stdout)).toEqual({ replayed: 20, matching: 20 });

    const all = [...good, ...extra, ...misnamed, ...both];
    await waitFor(() => all.every((id) => delivered().has(id)), {
      message: 'every trigger delivered',
    });
    expect(all.filter((id) => delivered().get(id) !== 1)).toEqual([]);
    expect(await producer.deadLetters.count()).toBe(0);
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });

  it('takes the same edits from the library, and refuses bad ones before replaying anything', async () => {
    const people = ids('lib', 10);
    // Beside good triggers in the same calls: alone, ten triggers failing alike would be a
    // sender's systematic mistake, which holds the flow instead of dead-lettering them.
    await producer.triggerMany('Welcome_SMS', [
      ...people.map((IndividualId, i) => ({ IndividualId, Code: `L-${i}` })),
      ...ids('libok', 10).map((IndividualId, i) => ({ IndividualId, Coupon_Code: `K-${i}` })),
    ]);
    await waitFor(async () => (await producer.deadLetters.count()) === 10, {
      message: '10 dead letters',
    });
    await expect(
      producer.deadLetters.replay({}, { edits: { rename: { Code: 'IndividualId' } } }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT_EDITS' });
    expect(await producer.deadLetters.count()).toBe(10);

    expect(
      await producer.deadLetters.replay({}, { edits: { rename: { Code: 'Coupon_Code' } } }),
    ).toBe(10);
    await waitFor(() => people.every((id) => sim.deliveries().get(id) === 1), {
      message: 'delivered with the input renamed',
    });
  });
});
