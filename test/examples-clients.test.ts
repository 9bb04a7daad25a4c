import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestClient, individualIds, ingestEnv, startIngest, TOKEN } from './ingest-support.js';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { uniquePrefix } from './support/redis.js';
import { waitFor } from './support/wait.js';

/**
 * The client examples of the README (examples/), each run against a real ingest: it sends
 * triggers with keys and meets a full backlog (429 BACKLOG_FULL), then Redis killed (503
 * REDIS_UNAVAILABLE); it retries after Retry-After with the same keys until Redis is back and a
 * worker drains the backlog, then reads each trigger's status until succeeded. Checked: its exit
 * code and output, that Salesforce (the simulator) got each input exactly once, and that running
 * it again stores nothing new (every receipt `duplicate=true`, same ids).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Example {
  name: string;
  /** The tool it needs, how to check for it, and how to install it. */
  tool: string;
  install: string;
  command: string[];
}

const EXAMPLES: Example[] = [
  {
    name: 'python (standard library)',
    tool: 'python3',
    install: 'apt-get install python3',
    command: ['python3', `${ROOT}examples/python/send_triggers.py`],
  },
  {
    name: 'curl (bash)',
    tool: 'curl',
    install: 'apt-get install curl bash',
    command: ['bash', `${ROOT}examples/curl/send_triggers.sh`],
  },
  {
    // Go is not on this machine; a JDK is, so the third example is Java (11+, JDK only).
    name: 'java (JDK only)',
    tool: 'java',
    install: 'apt-get install openjdk-17-jdk-headless',
    command: ['java', `${ROOT}examples/java/SendTriggers.java`],
  },
];

/** The tool answers `--version`; when it does not: skip with the reason, or fail under CI. */
function available(example: Example): boolean {
  // `java --version` answers without a compiler too; the single-file launcher needs one.
  const found =
    spawnSync(example.tool, ['--version'], { stdio: 'ignore' }).status === 0 &&
    (example.tool !== 'java' ||
      spawnSync('javac', ['--version'], { stdio: 'ignore' }).status === 0);
  if (!found) {
    const reason = `${example.tool} is not installed (${example.install}): the ${example.name} example is not run`;
    if (process.env.CI === 'true') throw new Error(`CI=true: ${reason}`);
    console.log(`SKIP ${reason}`);
  }
  return found;
}

/** Runs the example; resolves with its exit code; `lines` fills as it prints. */
function run(
  example: Example,
  args: string[],
  env: Record<string, string>,
  lines: string[],
): { child: ChildProcess; exited: Promise<number | null> } {
  const [bin, ...rest] = example.command as [string, ...string[]];
  const child = spawn(bin, [...rest, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    lines.push(...complete);
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (partial) lines.push(partial);
      if (stderr) lines.push(`stderr: ${stderr}`);
      resolve(code);
    }),
  );
  return { child, exited };
}

describe('client examples against a real ingest', () => {
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 }, recordInputs: true });
  });

  afterAll(async () => {
    await sim?.close();
  });

  for (const [index, example] of EXAMPLES.entries()) {
    it.skipIf(!available(example))(
      `${example.name}: retries 429 and 503 with the same keys, reads the status`,
      async () => {
        const cleanup: (() => Promise<unknown>)[] = [];
        try {
          // A Redis of its own, on disk at every write, so a kill loses nothing stored.
          const redis: RedisServerProcess = await startRedisServer({
            args: ['--appendonly', 'yes', '--appendfsync', 'always'],
          });
          cleanup.push(() => redis.stop());
          const prefix = uniquePrefix(`examples-${index}`);
          const fleet = fleetEnv({ redisUrl: redis.url, prefix, simulatorUrl: sim.url });
          const server = await startIngest(
            ingestEnv(redis.url, prefix, { ...fleet, INGEST_MAX_BACKLOG: '2' }),
          );
          cleanup.push(() => server.close());
          const probe = new IngestClient(server.url);
          cleanup.push(() => probe.close());

          // The backlog is full: no worker runs yet.
          const fill = individualIds(`ex${index}f`, 2);
          const filled = await probe.trigger(
            'Welcome_SMS',
            ...fill.map((IndividualId) => ({ input: { IndividualId } })),
          );
          expect(filled.status).toBe(202);
          await waitFor(
            async () => (await probe.metric('flow_dispatcher_ingest_backlog_triggers')) === 2,
            { message: 'ingest to read the backlog' },
          );

          const people = individualIds(`ex${index}p`, 3);
          const tag = `example-${index}-${prefix}`;
          const env = {
            INGEST_URL: server.url,
            INGEST_TOKEN: TOKEN,
            FLOW: 'Welcome_SMS',
            KEY_PREFIX: tag,
          };
          const lines: string[] = [];
          const { child, exited } = run(example, ['--wait', ...people], env, lines);
          cleanup.push(async () => {
            if (child.exitCode === null) child.kill('SIGKILL');
          });
          await waitFor(() => lines.some((l) => /^retry 429 BACKLOG_FULL after 1s$/.test(l)), {
            message: 'the example to meet 429',
            // A JVM compiling the Java example on a busy machine takes its time to start.
            timeoutMs: 90_000,
          });
          await redis.kill();
          await waitFor(
            () => lines.some((l) => /^retry 503 REDIS_UNAVAILABLE after \d+s$/.test(l)),
            {
              message: 'the example to meet 503',
            },
          );
          await redis.restart();
          const worker = await startInProcessWorker(fleet);
          cleanup.push(() => worker.close());

          const code = await Promise.race([
            exited,
            new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 90_000)),
          ]);
          expect(code, lines.join('\n')).toBe(0);
          const accepted = lines
            .filter((l) => l.startsWith('accepted '))
            .map((l) => /^accepted (\S+) key=(\S+) duplicate=(true|false)$/.exec(l)?.slice(1));
          expect(accepted).toEqual(
            people.map((person) => [
              expect.stringMatching(/^Welcome_SMS\./),
              `${tag}-${person}`,
              'false',
            ]),
          );
          const ids = accepted.map((receipt) => receipt?.[0]);
          expect(lines.filter((l) => l.startsWith('status '))).toEqual(
            ids.map((id) => `status ${id} succeeded`),
          );
          expect(lines.filter((l) => l.startsWith('error'))).toEqual([]);

          // Salesforce got every input exactly once, the retries notwithstanding.
          const delivered = sim
            .calls()
            .filter((call) => call.status === 200)
            .flatMap((call) => call.individualIds ?? [])
            .filter((id) => [...people, ...fill].includes(id));
          expect(delivered.sort()).toEqual([...people, ...fill].sort());

          // The same run again: the keys recognise every trigger, nothing new is stored.
          const again: string[] = [];
          expect(await run(example, people, env, again).exited).toBe(0);
          expect(again.filter((l) => l.startsWith('accepted '))).toEqual(
            people.map((person, i) => `accepted ${ids[i]} key=${tag}-${person} duplicate=true`),
          );
        } finally {
          while (cleanup.length) await cleanup.pop()?.();
        }
      },
      240_000,
    );
  }
});
