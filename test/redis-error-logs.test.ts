import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliProcess } from './support/cli-process.js';
import { fleetEnv, startWorkerProcess } from './support/fleet.js';
import { uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * An error reply from Redis carries the command it answered, arguments included; the worker's
 * writes of a call's outcomes carry the dead letters, whole inputs and all. Here Redis runs out of
 * memory (`maxmemory` lowered under what it holds, `noeviction`) while a call whose every input
 * Salesforce refuses is in flight, so the worker's write of those dead letters is refused with
 * OOM and logged. Nothing the triggers carried may appear in the worker's output.
 */

describe("a Redis error reply in a real worker's logs", () => {
  let server: RedisServerProcess;
  let sim: Simulator;
  let producer: Producer;
  let worker: CliProcess | undefined;
  let admin: Redis;

  beforeEach(async () => {
    server = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    admin = new Redis(server.url);
    sim = await startSimulator({
      port: 0,
      // Long enough to lower maxmemory while the call is in flight.
      latency: { kind: 'fixed', ms: 1_500 },
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKoom' },
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'An error occurred when executing a flow interview.',
          },
        },
      ],
    });
  });

  afterEach(async () => {
    await worker?.kill('SIGKILL');
    await producer?.close();
    admin.disconnect();
    await sim.close();
    await server.stop();
  });

  it('shows the error and the command name, never the inputs it was writing', async () => {
    const prefix = uniquePrefix('oom');
    producer = new Producer({ redis: server.url, prefix });
    const env = fleetEnv({ redisUrl: server.url, prefix, simulatorUrl: sim.url });
    worker = await startWorkerProcess(env);

    const people = Array.from(
      { length: 20 },
      (_, i) => `0PKoomZebulon${String(i).padStart(5, '0')}`,
    );
    const secrets = {
      email: 'zebulon.quartermain@example.org',
      phone: '+15550199887',
      coupon: 'ZEBULON-COUPON-7731',
    };
    // Each dead-to-be trigger beside a good one: a call whose every input failed alike would be
    // held by the flow's breaker instead of dead-lettered.
    await producer.triggerMany(
      'Welcome_SMS',
      people.flatMap((IndividualId, i) => [
        {
          IndividualId,
          EmailAddress: secrets.email,
          TelephoneNumber: secrets.phone,
          Coupon_Code: secrets.coupon,
        },
        { IndividualId: `0PKokZebulon${String(i).padStart(6, '0')}` },
      ]),
    );
    // The call is at Salesforce: from now on Redis refuses every write.
    await waitFor(() => sim.stats().concurrency.inFlight >= 1, { message: 'a call in flight' });
    await admin.config('SET', 'maxmemory', '1');

    const line = await worker.waitForLine(/could not record call outcomes in Redis/, 30_000);
    const leaked = () =>
      [...people, ...Object.values(secrets), 'Zebulon', 'quartermain'].filter((value) =>
        worker?.output.includes(value),
      );
    expect(leaked()).toEqual([]);
    expect(JSON.parse(line)).toMatchObject({
      level: 'error',
      err: {
        type: 'ReplyError',
        message: expect.stringMatching(/^OOM command not allowed/),
        command: { name: expect.stringMatching(/^eval/) },
      },
    });
    expect(JSON.parse(line).err.command.args).toBeUndefined();

    // Memory back: the worker records the call and nothing is left pending.
    await admin.config('SET', 'maxmemory', '0');
    await waitFor(async () => (await producer.deadLetters.count()) === people.length, {
      message: 'the dead letters recorded once Redis has memory again',
      timeoutMs: 60_000,
    });
    expect(leaked()).toEqual([]);
  });
});
