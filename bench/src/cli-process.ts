import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { CLI_BIN } from './bench-paths.js';

/** A `flow-dispatcher` child started by the bench, and the line that said it was ready. */
export interface StartedCli {
  child: ChildProcess;
  readyLine: string;
  /** Epoch ms of the spawn (a CPU profile starts with the process). */
  spawnedAt: number;
}

/**
 * Spawns `node <args>` (the built CLI), copies its output to `logFile`, and resolves once a line
 * contains `ready` (a pino message such as `"msg":"worker ready"`).
 */
export async function startCli(
  args: string[],
  env: Record<string, string | undefined>,
  logFile: string,
  ready: string,
): Promise<StartedCli> {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stderr?.pipe(log, { end: false });
  const readyLine = await new Promise<string>((resolve, reject) => {
    let buffered: string | undefined = '';
    const timer = setTimeout(
      () => reject(new Error(`${args.at(-1)} was not ready within 30 s; see ${logFile}`)),
      30_000,
    );
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      log.write(text);
      if (buffered === undefined) return;
      buffered += text;
      const line = buffered.split('\n').find((l) => l.includes(ready));
      if (line !== undefined) {
        clearTimeout(timer);
        buffered = undefined;
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.at(-1)} exited while starting (code ${code}); see ${logFile}`));
    });
  });
  return { child, readyLine, spawnedAt };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopCli(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * `flow-dispatcher ingest` on a free port (`INGEST_PORT=0`, whatever `env` says), once ready:
 * its process and the URL it listens on.
 */
export async function startIngestCli(
  env: Record<string, string | undefined>,
  logFile: string,
): Promise<{ child: ChildProcess; url: string }> {
  const started = await startCli(
    [CLI_BIN, 'ingest'],
    { ...env, INGEST_PORT: '0' },
    logFile,
    '"msg":"ingest ready"',
  );
  const port = (JSON.parse(started.readyLine) as { port?: number }).port;
  if (!port) {
    await stopCli(started.child);
    throw new Error(`ingest did not say which port it listens on; see ${logFile}`);
  }
  return { child: started.child, url: `http://127.0.0.1:${port}` };
}
