import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliProcess, runCli } from './support/cli-process.js';
import { fleetEnv, startInProcessWorker, startWorkerProcess } from './support/fleet.js';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

const ids = (prefix: string, count: number) =>
  Array.from(
    { length: count },
    (_, i) => `${prefix}${String(i).padStart(18 - prefix.length, '0')}`,
  );
const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

describe('operator commands against a running fleet', () => {
  let sim: Simulator;
  let prefix: string;
  let producer: Producer;
  let env: Record<string, string>;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    prefix = uniquePrefix('cli-fleet');
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    producer = new Producer({ redis: TEST_REDIS_URL, prefix });
    env = fleetEnv({ redisUrl: TEST_REDIS_URL, prefix, simulatorUrl: sim.url });
  });

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    await producer.close();
    await sim.close();
    await deletePrefix(TEST_REDIS_URL, prefix);
  });

  const delivered = (individualIds: readonly string[]) => {
    const deliveries = sim.deliveries();
    return individualIds.filter((id) => deliveries.has(id)).length;
  };
  const cli = async (...args: string[]) => {
    const result = await runCli(args, env);
    if (result.code !== 0)
      throw new Error(`${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };

  it('pauses a flow fleet-wide across two workers until it is resumed, and drains', async () => {
    const workers: CliProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const worker = await startWorkerProcess(env);
      workers.push(worker);
      cleanup.push(() => worker.kill());
    }
    expect(JSON.parse(await cli('pause', 'Welcome_SMS', '--json'))).toEqual({
      paused: ['Welcome_SMS'],
      fleet: false,
      registered: true,
    });
    const sms = ids('0PKsms', 300);
    const email = ids('0PKeml', 300);
    await producer.triggerMany(
      'Welcome_SMS',
      sms.map((IndividualId) => ({ IndividualId })),
    );
    await producer.triggerMany(
      'Order_Confirmation_Email',
      email.map((IndividualId) => ({ IndividualId })),
    );
    // Both workers consume both flows; the other flow goes through, the paused one does not.
    for (const worker of workers) {
      await worker.waitForLine(
        /"flow":"Welcome_SMS".*"consuming flow"|"consuming flow".*"flow":"Welcome_SMS"/,
      );
      await worker.waitForLine(
        /"flow":"Order_Confirmation_Email".*"consuming flow"|"consuming flow".*"flow":"Order_Confirmation_Email"/,
      );
    }
    await waitFor(() => delivered(email) === 300, { message: 'the other flow delivered' });
    expect(delivered(sms)).toBe(0);

    const stats = JSON.parse(await cli('stats', '--json'));
    expect(stats.pausedFlows).toEqual(['Welcome_SMS']);
    expect(stats.flows.find((f: { flow: string }) => f.flow === 'Welcome_SMS')).toMatchObject({
      paused: true,
      pending: 300,
    });

    // drain cannot finish while a flow with a backlog is paused: it says so and times out.
    const stuck = await runCli(['drain', '--timeout', '2s'], env);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain('note: Welcome_SMS is paused with 300 pending trigger(s)');
    expect(lines(stuck.stderr).at(-1)).toMatch(
      /^flow-dispatcher: timed out after .+: 300 trigger\(s\) still pending$/,
    );

    const resumingAt = Date.now();
    expect(await cli('resume', 'Welcome_SMS')).toContain('resumed Welcome_SMS fleet-wide');
    const drained = await runCli(['drain', '--timeout', '60s', '--json'], env);
    expect(drained.code).toBe(0);
    expect(JSON.parse(drained.stdout)).toMatchObject({ drained: true });
    expect(delivered(sms)).toBe(300);
    expect(sim.stats().deliveries.duplicates).toBe(0);
    // Not one call of the paused flow went out before it was resumed (the stuck drain alone gave
    // both workers two seconds to send it).
    expect(
      sim.calls().filter((call) => call.flow === 'Welcome_SMS' && call.startedAt < resumingAt),
    ).toEqual([]);

    // Pausing everything also holds flows that appear later; resuming everything lets them go.
    expect(await cli('pause')).toMatch(/^paused the fleet: 2 flow\(s\)/);
    const pausedAllAt = Date.now();
    const late = ids('0PKlat', 50);
    const again = ids('0PKagn', 50);
    await producer.triggerMany(
      'Order_Confirmation_Email',
      again.map((IndividualId) => ({ IndividualId })),
    );
    sim.configure({ unknownFlows: 'accept' });
    await producer.triggerMany(
      'Late_Flow',
      late.map((IndividualId) => ({ IndividualId })),
    );
    for (const worker of workers) {
      await worker.waitForLine(
        /"flow":"Late_Flow".*"consuming flow"|"consuming flow".*"flow":"Late_Flow"/,
      );
    }
    expect(delivered(late) + delivered(again)).toBe(0);
    const paused = JSON.parse(await cli('stats', '--json'));
    expect(paused.pausedAll).toBe(true);
    expect([...paused.pausedFlows].sort()).toEqual([
      'Late_Flow',
      'Order_Confirmation_Email',
      'Welcome_SMS',
    ]);
    const resumingAllAt = Date.now();
    expect(JSON.parse(await cli('resume', '--json'))).toEqual({
      resumed: ['Late_Flow', 'Order_Confirmation_Email', 'Welcome_SMS'],
      fleet: true,
    });
    await waitFor(() => delivered(late) === 50 && delivered(again) === 50, {
      message: 'delivered after resume',
    });
    expect(sim.stats().deliveries.duplicates).toBe(0);
    // While the whole fleet was paused (both workers consuming the new flow, and a stats run
    // meanwhile), no call went out at all.
    expect(
      sim.calls().filter((call) => call.startedAt >= pausedAllAt && call.startedAt < resumingAllAt),
    ).toEqual([]);
  });

  it('resume FLOW closes an open circuit', async () => {
    await producer.redis.set(`{${prefix}}:circuit:Welcome_SMS`, '{"openedAt":1}');
    await producer.redis.sadd(`{${prefix}}:flows`, 'Welcome_SMS');
    expect(JSON.parse(await cli('stats', '--json')).openCircuits).toEqual(['Welcome_SMS']);
    await cli('resume', 'Welcome_SMS');
    expect(await producer.redis.exists(`{${prefix}}:circuit:Welcome_SMS`)).toBe(0);
    expect(JSON.parse(await cli('stats', '--json')).openCircuits).toEqual([]);
  });

  it('shows the numbers of a known run in stats', async () => {
    sim.configure({
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKdead' },
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'An error occurred when executing a flow interview.',
          },
        },
      ],
    });
    const worker = await startInProcessWorker(env);
    cleanup.push(() => worker.close());
    const dir = mkdtempSync(join(tmpdir(), 'fd-cli-stats-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'known.csv');
    const good = ids('0PKgood', 380);
    const dead = ids('0PKdead', 20);
    writeFileSync(file, `IndividualId\n${[...good, ...dead].join('\n')}\n`);
    await cli('enqueue', 'Welcome_SMS', file);
    await waitFor(
      async () => (await producer.deadLetters.count()) === 20 && delivered(good) === 380,
      {
        message: 'the run settled',
      },
    );

    // The fleet's stats buckets are complete a few seconds after the run: wait for them.
    const snapshot = await waitFor(
      async () => {
        const s = JSON.parse(await cli('stats', '--json', '--window', '10m'));
        return s.totals.succeeded === 380 && s.totals.dead === 20 ? s : undefined;
      },
      { message: 'the run in the stats buckets', timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const simStats = sim.stats();
    expect(snapshot.totals.calls).toBe(simStats.invokeCalls.total);
    expect(snapshot.totals.inputs).toBe(simStats.inputs.received);
    expect(snapshot.totals.retried).toBe(0);
    expect(snapshot.totals.statuses).toEqual(
      Object.fromEntries(Object.entries(simStats.invokeCalls.byStatus).map(([k, v]) => [k, v])),
    );
    expect(snapshot.window.seconds).toBe(600);
    expect(snapshot.rates.succeeded).toBeCloseTo(380 / 600, 6);
    expect(snapshot.rates.inputsPerCall).toBeCloseTo(
      simStats.inputs.received / simStats.invokeCalls.total,
      6,
    );
    expect(snapshot.backlog).toEqual({
      triggers: 0,
      chunks: { waiting: 0, active: 0, delayed: 0, prioritized: 0, failed: 0 },
    });
    expect(snapshot.deadLetters).toBe(20);
    expect(snapshot.pausedAll).toBe(false);
    // No 503, limit or slow call in this run: the adaptive limit was never lowered, so none is
    // published (stats shows the cap as it is).
    expect(snapshot.limits.concurrencyLimit).toBeNull();
    expect(snapshot.limits.inflight).toBe(0);

    const text = await cli('stats', '--window', '10m');
    expect(text).toMatch(/backlog\s+0 trigger\(s\) pending/);
    expect(text).toContain('(380 / 0 / 20 in the window)');
    expect(text).toMatch(/dead letters\s+20/);
    expect(text).toMatch(/^Welcome_SMS\s+0\s+0\s+0\s+0\s+0\s+no\s+no\s+-$/m);
    expect(text).toMatch(/held\s+none/);
    expect(text).toMatch(/paced\s+none/);
  });

  it('lists, shows, replays (after the fault is fixed) and purges dead letters', async () => {
    sim.configure({
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKperm' },
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'An error occurred when executing a flow interview.',
          },
        },
      ],
    });
    const worker = await startInProcessWorker(env);
    cleanup.push(() => worker.close());
    const sms = ids('0PKperm', 10);
    const email = ids('0PKpermeml', 5);
    await producer.triggerMany(
      'Welcome_SMS',
      [...ids('0PKfine', 20), ...sms].map((IndividualId) => ({ IndividualId })),
    );
    await producer.triggerMany(
      'Order_Confirmation_Email',
      email.map((IndividualId) => ({ IndividualId })),
    );
    await waitFor(async () => (await producer.deadLetters.count()) === 15, {
      message: '15 dead letters',
    });

    const all = JSON.parse(await cli('dlq', 'list', '--json'));
    expect(all.total).toBe(15);
    expect(JSON.parse(await cli('dlq', 'list', '--flow', 'Welcome_SMS', '--json')).total).toBe(10);
    expect(JSON.parse(await cli('dlq', 'list', '--until', '1h', '--json')).total).toBe(0);
    const table = await cli('dlq', 'list', '--error-code', 'UNKNOWN_EXCEPTION', '--limit', '3');
    expect(lines(table)[0]).toMatch(/^id\s+dead at\s+error\s+attempts\s+message$/);
    expect(lines(table)).toHaveLength(5);
    expect(table).toContain('3 of 15 shown');
    expect(table).toContain('UNKNOWN_EXCEPTION (400)');

    const letter = all.deadLetters.find((l: { flow: string }) => l.flow === 'Welcome_SMS');
    const shown = await cli('dlq', 'show', letter.id);
    expect(shown).toContain(`id          ${letter.id}`);
    expect(shown).toContain(`"IndividualId": "${letter.input.IndividualId}"`);
    const unknown = await runCli(['dlq', 'show', 'Welcome_SMS.c0000000000000000.1'], env);
    expect(unknown.code).toBe(1);
    expect(lines(unknown.stderr)).toHaveLength(1);

    // Without a terminal and without --yes, nothing happens.
    const refused = await runCli(['dlq', 'replay', '--flow', 'Welcome_SMS'], env);
    expect(refused.code).toBe(2);
    expect(lines(refused.stderr)).toEqual([
      'flow-dispatcher: refusing to replay 10 dead letter(s) without --yes (stdin is not a terminal)',
    ]);
    expect(await producer.deadLetters.count()).toBe(15);

    sim.configure({ inputFaults: [] });
    expect(
      JSON.parse(await cli('dlq', 'replay', '--flow', 'Welcome_SMS', '--yes', '--json')),
    ).toEqual({
      replayed: 10,
      matching: 10,
    });
    await waitFor(() => delivered(sms) === 10, { message: 'replayed triggers delivered' });
    expect(await producer.deadLetters.count()).toBe(5);
    await waitFor(async () => (await producer.getTrigger(letter.id))?.state === 'succeeded', {
      message: 'the replayed trigger reads succeeded under its id',
    });

    expect((await runCli(['dlq', 'purge'], env)).code).toBe(2);
    expect(await cli('dlq', 'purge', '--flow', 'Order_Confirmation_Email', '--yes')).toMatch(
      /^purged 5 dead letter\(s\) \(flow Order_Confirmation_Email\)/,
    );
    expect(await producer.deadLetters.count()).toBe(0);
    expect(await cli('dlq', 'replay', '--yes')).toBe('no dead letters match (all)\n');
    expect(delivered(email)).toBe(0);
    expect(sim.stats().deliveries.duplicates).toBe(0);
  });
});
