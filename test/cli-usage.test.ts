import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { TEST_REDIS_URL, uniquePrefix } from './support/redis.js';

const OPERATOR_COMMANDS = [
  'describe',
  'enqueue',
  'stats',
  'dlq',
  'dlq list',
  'dlq show',
  'dlq replay',
  'dlq purge',
  'pause',
  'resume',
  'pace',
  'cancel',
  'drain',
  'events',
];

/** stderr's lines, for "exactly one line" checks. */
const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

describe('operator commands: usage', () => {
  const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniquePrefix('cli-usage') };

  it.each(OPERATOR_COMMANDS)('%s --help exits 0 and explains itself', async (command) => {
    const result = await runCli([...command.split(' '), '--help'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`Usage: flow-dispatcher ${command}`);
  });

  it.each([
    [
      ['stats', '--bogus'],
      /^flow-dispatcher stats: unknown option '--bogus' \(see flow-dispatcher stats --help\)$/,
    ],
    [['dlq', 'list', '--flw', 'X'], /^flow-dispatcher dlq list: unknown option '--flw'/],
    [['dlq'], /dlq needs a subcommand/],
    [['dlq', 'show'], /missing required argument 'id'/],
    [['describe'], /missing required argument 'flow'/],
    [['enqueue', 'Welcome_SMS'], /missing required argument 'file'/],
    [['pause', 'A', 'B'], /too many arguments/],
    [['pause', 'not a flow'], /"not a flow" is not a flow API name/],
    [['pace', 'Welcome_SMS'], /give a rate \(e.g. 500\/min\), or --off/],
    [['pace', 'Welcome_SMS', '5/s', '--off'], /give a rate or --off, not both/],
    [['pace', 'not a flow', '5/s'], /"not a flow" is not a flow API name/],
    [
      ['pace', 'Welcome_SMS', '500'],
      /"500" is not a rate: write a number of triggers per s, min or hour/,
    ],
    [['pace', 'Welcome_SMS', '0/min'], /a pace must be between 1 trigger an hour and 100,000/],
    [['pace', 'Welcome_SMS', '9000000/s'], /a pace must be between/],
    [
      ['pace', 'Welcome_SMS', '5/s', '--window', '100ms'],
      /a pacing window must be between 1 s and 1 h/,
    ],
    [['pace', 'Welcome_SMS', 'off', '--window', '5s'], /--window goes with a rate, not with off/],
    [['pace', 'Welcome_SMS', '--off', '--window', '5s'], /--window goes with a rate, not with off/],
    [['stats', '--window', '5s'], /--window must be from 10s to 1h/],
    [['drain', '--timeout', '10'], /--timeout expects a duration such as 30s/],
    [['dlq', 'list', '--limit', '0'], /--limit expects a whole number from 1/],
    [['events', '--limit', '0'], /--limit expects a whole number from 1/],
    [['events', '--flow', 'not a flow'], /"not a flow" is not a flow API name/],
    [['events', '--consumer', 'c'], /--consumer needs --group/],
    [['events', '--group', 'a b'], /--group expects 1 to 64 letters/],
    [['dlq', 'list', '--since', 'yesterday'], /--since expects an ISO time/],
    [['dlq', 'purge', '--since', '1h', '--until', '2h', '--yes'], /--since must be before --until/],
    [
      ['enqueue', 'Welcome_SMS', 'x.csv', '--batch-size', '0'],
      /--batch-size expects a whole number/,
    ],
    [['enqueue', 'Welcome_SMS', '-', '--map', 'a=b c'], /is not a Salesforce input name/],
    [['enqueue', 'Welcome_SMS', '-'], /--format csv or --format ndjson/],
    [['enqueue', 'Welcome_SMS', '-', '--key-as-input'], /--key-as-input needs a --key-column/],
    [
      ['enqueue', 'Welcome_SMS', '-', '--key-column', 'k', '--key-as-input', '--drop-column', 'k'],
      /--drop-column k leaves it out: choose one/,
    ],
    [
      ['enqueue', 'Welcome_SMS', '-', '--key-column', 'k', '--map', 'k=Order_Id'],
      /k is the --key-column, which is not sent as an input; add --key-as-input/,
    ],
    [
      ['enqueue', 'Welcome_SMS', '-', '--key-column', 'IndividualId'],
      /every trigger needs IndividualId; add --key-as-input to use it as both/,
    ],
  ])('%j exits 2 with one line', async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toHaveLength(1);
    expect(result.stderr.trim()).toMatch(message);
  });

  it('exits 2 naming the variable for bad configuration, 1 when Redis cannot be reached', async () => {
    const config = await runCli(['stats'], { QUEUE_PREFIX: 'a:b' });
    expect(config.code).toBe(2);
    expect(lines(config.stderr)).toEqual([
      expect.stringMatching(/^flow-dispatcher: QUEUE_PREFIX: /),
    ]);
    const down = await runCli(['pause', 'Welcome_SMS'], {
      REDIS_URL: 'redis://:secret-password@127.0.0.1:1',
    });
    expect(down.code).toBe(1);
    expect(lines(down.stderr)).toEqual([
      'flow-dispatcher: cannot reach Redis at redis://:***@127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1',
    ]);
  });
});

describe('flow-dispatcher describe', () => {
  let sim: Simulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 1 } });
    env = {
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: 'sim-client-id',
      SF_CLIENT_SECRET: 'sim-client-secret',
    };
  });
  afterAll(async () => {
    await sim.close();
  });

  it('prints the inputs of a flow as a table, or as JSON', async () => {
    const table = await runCli(['describe', 'Welcome_SMS'], env);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n');
    expect(rows[0]).toMatch(/^Welcome_SMS/);
    expect(rows).toContainEqual(expect.stringMatching(/^input\s+type\s+required/));
    expect(rows).toContainEqual(expect.stringMatching(/^IndividualId\s+STRING\s+yes/));
    expect(rows).toContainEqual(expect.stringMatching(/^Coupon_Code\s+STRING\s+no/));

    const json = await runCli(['describe', 'Order_Confirmation_Email', '--json'], env);
    expect(json.code).toBe(0);
    const described = JSON.parse(json.stdout);
    expect(described.name).toBe('Order_Confirmation_Email');
    expect(described.inputs).toContainEqual(
      expect.objectContaining({ name: 'IndividualId', required: true }),
    );
    expect(described.inputs.map((i: { name: string }) => i.name)).toContain('customInput');
  });

  it('exits 1 for a flow the org does not have, 2 without or with refused credentials', async () => {
    const missing = await runCli(['describe', 'No_Such_Flow'], env);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toEqual([
      'flow-dispatcher: flow No_Such_Flow was not found: it does not exist, is not active, or is not shared with the API user',
    ]);
    const none = await runCli(['describe', 'Welcome_SMS'], {});
    expect(none.code).toBe(2);
    expect(lines(none.stderr)).toEqual([expect.stringMatching(/^flow-dispatcher: SF_LOGIN_URL: /)]);
    const refused = await runCli(['describe', 'Welcome_SMS'], {
      ...env,
      SF_CLIENT_SECRET: 'wrong-secret',
    });
    expect(refused.code).toBe(2);
    expect(lines(refused.stderr)).toEqual([
      expect.stringMatching(/^flow-dispatcher: Salesforce refused the configured credentials/),
    ]);
    expect(refused.stderr).not.toContain('wrong-secret');
  });
});
