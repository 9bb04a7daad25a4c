import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startSimulator } from './simulator.js';
import type { SimulatorConfigPatch } from './simulator-config.js';
import { SimulatorConfigError, SimulatorUsageError } from './simulator-errors.js';

export const simulatorUsage = `Usage: flow-dispatcher simulator [options]

Runs a Salesforce look-alike (OAuth token endpoint, flow describe/invoke, limits, faults).
Prints one JSON line {"event":"listening","url":...} once listening; stops on SIGTERM/SIGINT.

Options:
  --port N             port to listen on; 0 picks a free one (default 0, env SIMULATOR_PORT)
  --host HOST          address to bind (default 127.0.0.1, env SIMULATOR_HOST)
  --public-url URL     URL clients reach it at, returned as instance_url (default http://HOST:PORT)
  --config FILE        JSON file with a simulator config patch (env SIMULATOR_CONFIG)
  --latency-ms MS      fixed latency of each invoke call (default 20)
  --daily-limit N      daily API allocation (default 100000)
  --max-concurrency N  concurrent invoke calls admitted (default: no cap)
  --token-ttl-ms MS    lifetime of issued access tokens (default 7200000)
  --help               show this help
`;

/** Where the CLI writes, and an optional signal that stops it like SIGTERM does (for tests). */
export interface SimulatorCliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  signal?: AbortSignal;
}

const processIo: SimulatorCliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * `flow-dispatcher simulator`: starts the simulator and resolves once it has closed after
 * SIGTERM or SIGINT. Bad flags or configuration: one line on stderr, then a rejection with
 * `code: 'USAGE'`.
 */
export async function runSimulatorCli(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: SimulatorCliIo = processIo,
): Promise<void> {
  const usage = (message: string, cause?: unknown): SimulatorUsageError => {
    const line = message.replace(/\s*\n\s*/g, ' ');
    io.stderr(`flow-dispatcher simulator: ${line} (see --help)\n`);
    return new SimulatorUsageError(line, { cause });
  };

  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw usage((error as Error).message, error);
  }
  if (values.help === true) {
    io.stdout(simulatorUsage);
    return;
  }

  const port = integerFlag('--port', values.port ?? env.SIMULATOR_PORT, 0, 65535, usage) ?? 0;
  const host = values.host ?? env.SIMULATOR_HOST ?? '127.0.0.1';
  const configFile = values.config ?? env.SIMULATOR_CONFIG;
  let patch: SimulatorConfigPatch = {};
  if (configFile !== undefined && configFile !== '') {
    let text: string;
    try {
      text = await readFile(configFile, 'utf8');
    } catch (error) {
      throw usage(`--config ${configFile}: ${(error as Error).message}`, error);
    }
    try {
      patch = JSON.parse(text) as SimulatorConfigPatch;
    } catch (error) {
      throw usage(`--config ${configFile}: not JSON: ${(error as Error).message}`, error);
    }
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      throw usage(`--config ${configFile}: expected a JSON object`);
    }
  }
  const latencyMs = numberFlag('--latency-ms', values['latency-ms'], usage);
  if (latencyMs !== undefined) patch = { ...patch, latency: { kind: 'fixed', ms: latencyMs } };
  const dailyLimit = integerFlag(
    '--daily-limit',
    values['daily-limit'],
    0,
    Number.MAX_SAFE_INTEGER,
    usage,
  );
  if (dailyLimit !== undefined) patch = { ...patch, dailyLimit };
  const maxConcurrency = integerFlag(
    '--max-concurrency',
    values['max-concurrency'],
    1,
    Number.MAX_SAFE_INTEGER,
    usage,
  );
  if (maxConcurrency !== undefined) patch = { ...patch, maxConcurrency };
  const tokenTtlMs = numberFlag('--token-ttl-ms', values['token-ttl-ms'], usage);
  if (tokenTtlMs !== undefined) patch = { ...patch, tokenTtlMs };

  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  try {
    simulator = await startSimulator({
      ...patch,
      port,
      host,
      ...(values['public-url'] === undefined ? {} : { publicUrl: values['public-url'] }),
    });
  } catch (error) {
    if (error instanceof SimulatorConfigError) throw usage(error.message, error);
    throw error;
  }
  io.stdout(`${JSON.stringify({ event: 'listening', url: simulator.url })}\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (io.signal?.aborted === true) stop();
    else io.signal?.addEventListener('abort', stop);
  });
  await simulator.close();
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'public-url': { type: 'string' },
      config: { type: 'string' },
      'latency-ms': { type: 'string' },
      'daily-limit': { type: 'string' },
      'max-concurrency': { type: 'string' },
      'token-ttl-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type UsageFactory = (message: string) => SimulatorUsageError;

function numberFlag(
  name: string,
  raw: string | undefined,
  usage: UsageFactory,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw usage(`${name} must be a non-negative number, got '${raw}'`);
  }
  return value;
}

function integerFlag(
  name: string,
  raw: string | undefined,
  min: number,
  max: number,
  usage: UsageFactory,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw usage(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}
