import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private `redis-server` child process on a loopback port, in a temporary directory. */
export interface RedisServerProcess {
  url: string;
  port: number;
  dir: string;
  child: ChildProcess;
  /** SIGKILL (nothing flushed), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (with the same arguments). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `redis-server` from PATH (or `binary`) with no persistence unless `args` asks for it.
 * Rejects with a clear message when the binary is missing or it does not come up.
 */
export async function startRedisServer(
  options: { port?: number; args?: string[]; binary?: string; password?: string } = {},
): Promise<RedisServerProcess> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'fd-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(options.args ?? []),
  ];
  const binary = options.binary ?? 'redis-server';
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  const handle: RedisServerProcess = {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    dir,
    child: await launch(binary, args, port),
    async kill() {
      await terminate(handle.child, 'SIGKILL');
    },
    async restart() {
      await terminate(handle.child, 'SIGKILL');
      handle.child = await launch(binary, args, port);
    },
    async stop() {
      await terminate(handle.child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

async function launch(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: 'ignore' });
  let failure: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure =
      err.code === 'ENOENT'
        ? new Error(
            `${binary} is not on PATH: install Redis (Debian: apt-get install redis-server) or set REDIS_URL`,
          )
        : err;
  });
  child.once('exit', (code) => {
    failure ??= new Error(
      `${binary} exited with code ${code} while starting (port ${port} taken?)`,
    );
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    if (await canConnect(port)) {
      if (failure) throw failure;
      return child;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${binary} did not start listening on port ${port} within 10 s`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
