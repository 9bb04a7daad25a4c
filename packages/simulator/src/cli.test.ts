import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSimulatorCli, type SimulatorCliIo } from './cli.js';

function capture(signal?: AbortSignal): SimulatorCliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io: SimulatorCliIo & { out: string[]; err: string[] } = {
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  };
  if (signal !== undefined) io.signal = signal;
  return io;
}

async function waitForLine(lines: string[]): Promise<{ event: string; url: string }> {
  const deadline = Date.now() + 5000;
  while (lines.length === 0) {
    if (Date.now() > deadline) throw new Error('no listening line');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return JSON.parse(lines[0] ?? '') as { event: string; url: string };
}

describe('runSimulatorCli', () => {
  it('prints one listening line, serves, and stops when told to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    const configFile = join(dir, 'config.json');
    await writeFile(
      configFile,
      JSON.stringify({ dailyUsed: 10, auth: { clientSecret: 'from-file' } }),
    );
    const stop = new AbortController();
    const io = capture(stop.signal);
    const running = runSimulatorCli(
      [
        '--port',
        '0',
        '--config',
        configFile,
        '--daily-limit',
        '50',
        '--latency-ms',
        '1',
        '--max-concurrency',
        '4',
      ],
      {},
      io,
    );
    const line = await waitForLine(io.out);
    expect(line.event).toBe('listening');
    expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(io.out).toHaveLength(1);
    expect(io.out[0]?.endsWith('\n')).toBe(true);

    const token = await fetch(`${line.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=sim-client-id&client_secret=from-file',
    });
    expect(token.status).toBe(200);
    const stats = (await (await fetch(`${line.url}/__sim/stats`)).json()) as {
      apiUsage: unknown;
      concurrency: { limit: number };
    };
    expect(stats.apiUsage).toEqual({ used: 10, max: 50 });
    expect(stats.concurrency.limit).toBe(4);

    stop.abort();
    await running;
    await expect(fetch(`${line.url}/__sim/stats`)).rejects.toThrow();
    expect(io.err).toEqual([]);
  });

  it('prints help without starting', async () => {
    const io = capture();
    await runSimulatorCli(['--help'], {}, io);
    expect(io.out.join('')).toContain('--daily-limit');
  });

  it.each([
    [['--bogus']],
    [['--port', 'abc']],
    [['--port', '70000']],
    [['--daily-limit', '-1']],
    [['--latency-ms', 'fast']],
    [['--max-concurrency', '0']],
    [['--config', '/nonexistent/sim.json']],
    [['stray-positional']],
  ])('refuses %j with code USAGE and one stderr line', async (argv) => {
    const io = capture();
    await expect(runSimulatorCli(argv, {}, io)).rejects.toMatchObject({ code: 'USAGE' });
    expect(io.err).toHaveLength(1);
    expect(io.err[0]?.split('\n').filter(Boolean)).toHaveLength(1);
    expect(io.out).toEqual([]);
  });

  it('refuses an invalid config file with code USAGE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-cli-'));
    const configFile = join(dir, 'config.json');
    await writeFile(configFile, JSON.stringify({ latency: { kind: 'gaussian' } }));
    const io = capture();
    await expect(runSimulatorCli(['--config', configFile], {}, io)).rejects.toMatchObject({
      code: 'USAGE',
    });
    await writeFile(configFile, '{not json');
    await expect(runSimulatorCli(['--config', configFile], {}, io)).rejects.toMatchObject({
      code: 'USAGE',
    });
  });
});
