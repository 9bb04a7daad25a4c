import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * What the CLI must not load before it has a command to run: the test suite starts hundreds of CLI
 * processes, and one that loads these (with undici, prom-client, pino) before refusing its
 * arguments spends most of a second on it.
 */
const HEAVY = [
  '@flow-dispatcher/shared',
  '@flow-dispatcher/producer',
  '@flow-dispatcher/worker',
  '@flow-dispatcher/simulator',
  'bullmq',
  'ioredis',
  'cli-progress',
];
const loaded = new Set<string>();

/** Runs the CLI in this process: its stderr, the exit code it asked for, the packages it loaded. */
async function run(args: string[]) {
  const { main } = await import('./cli.js');
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  await main(['node', 'flow-dispatcher', ...args]);
  const code = exit.mock.calls[0]?.[0] ?? process.exitCode;
  return { code, stderr, loaded: [...loaded] };
}

describe('the CLI loads heavy packages only for a command that runs', () => {
  beforeEach(() => {
    vi.resetModules();
    loaded.clear();
    // Each import of a heavy package is recorded, then served as it is.
    for (const name of HEAVY) {
      vi.doMock(name, async (original) => {
        loaded.add(name);
        return original();
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    process.exitCode = undefined;
  });

  it.each([
    [['--help'], 0],
    [['--version'], 0],
    [['stats', '--help'], 0],
    [['bogus'], 2],
    [['stats', '--bogus'], 2],
    [['pause', 'not a flow'], 2],
    [['pace', 'Welcome_SMS', 'fast'], 2],
    [['pace', 'Welcome_SMS', '500/min', '--window', '2d'], 2],
    [['enqueue', 'Welcome_SMS', '-'], 2],
    [['dlq'], 2],
    [['dlq', 'replay', '--rename-input', 'Phone='], 2],
    [['dlq', 'replay', '--drop-input', 'IndividualId', '--yes'], 2],
  ])('%j: none (exit %i)', async (args, code) => {
    const result = await run(args);
    expect(result.code).toBe(code);
    expect(result.loaded).toEqual([]);
  });

  it.each([
    'worker',
    'ingest',
    'describe Welcome_SMS',
    'pause',
    'resume',
    'pace Welcome_SMS 500/min',
    'drain',
    'events',
    'dlq list',
    'stats',
  ])('%s with a bad variable: none (exit 2 naming it)', async (command) => {
    vi.stubEnv('QUEUE_PREFIX', 'a:b');
    const result = await run(command.split(' '));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^flow-dispatcher: QUEUE_PREFIX: /);
    expect(result.loaded).toEqual([]);
  });

  it('describe without Salesforce credentials: none (exit 2)', async () => {
    for (const name of [
      'SF_LOGIN_URL',
      'SF_CLIENT_ID',
      'SF_CLIENT_SECRET',
      'SF_USERNAME',
      'SF_PRIVATE_KEY_FILE',
      'SF_INSTANCE_URL',
      'SF_ACCESS_TOKEN',
    ]) {
      vi.stubEnv(name, undefined);
    }
    const result = await run(['describe', 'Welcome_SMS']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^flow-dispatcher: SF_LOGIN_URL: /);
    expect(result.loaded).toEqual([]);
  });

  it('stats checks --window against the bucket width without loading anything heavy', async () => {
    const result = await run(['stats', '--window', '5s']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--window must be from 10s to 1h/);
    expect(result.loaded).toEqual([]);
  });
});
