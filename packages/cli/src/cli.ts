import { isConfigError, loadConfig, packageVersion } from '@flow-dispatcher/shared/config';
import { Command, CommanderError } from 'commander';

import { registerCancelCommand } from './commands/cancel-command.js';
import { registerDescribeCommand } from './commands/describe-command.js';
import { registerDlqCommand } from './commands/dlq-command.js';
import { registerDrainCommand } from './commands/drain-command.js';
import { registerEnqueueCommand } from './commands/enqueue-command.js';
import { registerEventsCommand } from './commands/events-command.js';
import { registerFlowsCommands } from './commands/flows-command.js';

import { registerPaceCommand } from './commands/pace-command.js';
import { registerPauseCommand } from './commands/pause-command.js';
import { registerResumeCommand } from './commands/resume-command.js';

import { registerStatsCommand } from './commands/stats-command.js';

import { UsageError } from './usage-error.js';

const INGEST_HELP = `
Endpoints: POST /v1/flows/{flow}/triggers, POST /services/data/v{version}/actions/custom/flow/{flow}
(Salesforce drop-in; Idempotency-Key header), GET /v1/triggers/{id}, GET /v1/flows/{flow},
/metrics, /healthz, /readyz.

Environment: REDIS_URL, QUEUE_PREFIX, INGEST_PORT (8080), INGEST_TOKENS (required unless
INGEST_AUTH=none), INGEST_LINGER_MS (2), INGEST_MAX_CHUNK (1000), INGEST_MAX_BODY_BYTES (5 MiB),
INGEST_MAX_TRIGGERS_PER_REQUEST (1000), INGEST_MAX_BACKLOG (1000000), INGEST_GROUP_COMMIT (on),
INGEST_WRITE_TIMEOUT_MS (5000); Salesforce credentials (optional) to check triggers against
their flow's describe.`;

/**
 * The command line. Only commander, the configuration code and the commands' definitions load up
 * front: a command imports its heavy packages (bullmq, ioredis, undici, the worker, ...) once it is
 * chosen and has checked its arguments and configuration, so that `--help`, usage errors and
 * configuration errors exit within a fraction of a second (cli.test.ts keeps it so).
 */
function buildProgram(): Command {
  const program = new Command('flow-dispatcher')
    .description('Queue-backed, batching dispatcher for Salesforce Marketing Cloud On-Demand Flows')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('worker')
    .description(
      'drain the queues into Salesforce (configured by environment variables; see the README)',
    )
    .action(async () => {
      const config = loadConfig();
      await (await import('./commands/worker-command.js')).workerCommand(config);
    });

  program
    .command('ingest')
    .description(
      'serve the HTTP ingest API on INGEST_PORT (configured by environment variables; see the README)',
    )
    .addHelpText('after', INGEST_HELP)
    .action(async () => {
      const config = loadConfig();
      await (await import('./commands/ingest-command.js')).ingestCommand(config);
    });

  program
    .command('simulator')
    .description('run the Salesforce look-alike (flags: see `flow-dispatcher simulator --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]')
    .action(async (flags: string[]) =>
      (await import('./commands/simulator-command.js')).simulatorCommand(flags),
    );

  program
    .command('demo')
    .description(
      'run a self-contained demo: Redis, the simulator, a worker and a burst of 50,000 triggers',
    )
    .option('--triggers <n>', 'triggers to enqueue', '50000')
    .option('--latency-ms <ms>', 'simulated Salesforce latency', '50')
    .action(async (options: { triggers: string; latencyMs: string }) =>
      (await import('./commands/demo-command.js')).demoCommand(options),
    );

  // Operator commands (issue 6).
  registerDescribeCommand(program);
  registerEnqueueCommand(program);
  registerStatsCommand(program);
  registerDlqCommand(program);
  registerPauseCommand(program);
  registerResumeCommand(program);
  registerPaceCommand(program);
  registerCancelCommand(program);
  registerFlowsCommands(program);
  registerDrainCommand(program);
  registerEventsCommand(program);

  return program;
}

/** Exit code for an error that escaped a command: 2 for usage and configuration, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || isConfigError(err)) return 2;
  if ((err as { code?: unknown })?.code === 'USAGE') return 2;
  return 1;
}

/** Runs the CLI; resolves once a command has started (long-running ones keep the process alive). */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        process.exitCode = 0;
        return;
      }
      // Commander has already printed the one-line reason.
      process.exitCode = 2;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`flow-dispatcher: ${message}\n`);
    process.exit(exitCodeFor(err));
  }
}
