import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
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

/**
 * The ports the kernel hands out by itself (to a `listen(0)` and to every outgoing connection):
 * Linux's `ip_local_port_range`, else the IANA dynamic range.
 */
function ephemeralPorts(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return { low, high };
  } catch {
    // not Linux
  }
  return { low: 49_152, high: 65_535 };
}

/** Ports below the ephemeral range this picks from, from here up. */
const FIXED_PORTS_FROM = 20_000;

/**
 * A TCP port free on 127.0.0.1 now, for a server that must be told its port before it starts
 * (or restarted on the same one). It is taken below the kernel's ephemeral range, so no
 * `listen(0)` and no outgoing connection of any process on the machine can take it in between
 * (another test suite running beside this one included); only another explicit choice could, and
 * each pick is random among thousands. Falls back to a kernel-chosen port where the ephemeral
 * range leaves no room below it.
 */
export async function freePort(): Promise<number> {
  const { low } = ephemeralPorts();
  const span = low - FIXED_PORTS_FROM;
  if (span >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = FIXED_PORTS_FROM + Math.floor(Math.random() * span);
      if (await canListen(port)) return port;
    }
  }
  return listenOnce(0);
}

function canListen(port: number): Promise<boolean> {
  return listenOnce(port).then(
    () => true,
    () => false,
  );
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(bound));
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
  if (options.port !== undefined) return startOn(options.port, options);
  // A port chosen here can still be taken by another explicit choice before redis-server binds
  // it: then it exits at once, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(await freePort(), options);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 5) throw err;
    }
  }
}

/** redis-server could not bind its port: someone else has it. */
class PortTakenError extends Error {
  override readonly name = 'PortTakenError';
  readonly code = 'FD_PORT_TAKEN';
}

async function startOn(
  port: number,
  options: { args?: string[]; binary?: string; password?: string },
): Promise<RedisServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'fd-redis-'));
  const logFile = join(dir, 'redis.log');
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
    logFile,
    ...(options.password ? ['--requirepass', options.password] : []),
    ...(options.args ?? []),
  ];
  const binary = options.binary ?? 'redis-server';
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  let child: ChildProcess;
  try {
    child = await launch(binary, args, port, logFile);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const handle: RedisServerProcess = {
    url: `redis://${auth}127.0.0.1:${port}`,
    port,
    dir,
    child,
    async kill() {
      await terminate(handle.child, 'SIGKILL');
    },
    async restart() {
      await terminate(handle.child, 'SIGKILL');
      handle.child = await launch(binary, args, port, logFile);
    },
    async stop() {
      await terminate(handle.child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * Spawns redis-server and resolves once it says in its own log (from `logFile`'s current end) that
 * it accepts connections, data loaded: a server that answers on the port but did not write that
 * line is somebody else's.
 */
async function launch(
  binary: string,
  args: string[],
  port: number,
  logFile: string,
): Promise<ChildProcess> {
  const logFrom = fileSize(logFile);
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
    const log = readLog(logFile, logFrom);
    failure ??= /Address already in use/.test(log)
      ? new PortTakenError(`${binary}: port ${port} is taken`)
      : new Error(`${binary} exited with code ${code} while starting: ${lastLine(log)}`);
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    if (/Ready to accept connections/.test(readLog(logFile, logFrom))) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`${binary} did not get ready on port ${port} within 30 s`);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readLog(path: string, from: number): string {
  try {
    return readFileSync(path).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

function lastLine(log: string): string {
  return log.trim().split('\n').at(-1) ?? '(no log)';
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
