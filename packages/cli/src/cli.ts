import { isConfigError } from '@flow-dispatcher/shared';
import { Command, CommanderError } from 'commander';
import { demoCommand } from './commands/demo-command.js';
import { simulatorCommand } from './commands/simulator-command.js';
import { workerCommand } from './commands/worker-command.js';
import { UsageError } from './usage-error.js';

function buildProgram(): Command {
  const program = new Command('flow-dispatcher')
    .description('Queue-backed, batching dispatcher for Salesforce Marketing Cloud On-Demand Flows')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('worker')
    .description(
      'drain the queues into Salesforce (configured by environment variables; see the README)',
    )
    .action(workerCommand);

  program
    .command('simulator')
    .description('run the Salesforce look-alike (flags: see `flow-dispatcher simulator --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]')
    .action((flags: string[]) => simulatorCommand(flags));

  program
    .command('demo')
    .description(
      'run a self-contained demo: Redis, the simulator, a worker and a burst of 50,000 triggers',
    )
    .option('--triggers <n>', 'triggers to enqueue', '50000')
    .option('--latency-ms <ms>', 'simulated Salesforce latency', '50')
    .action((options: { triggers: string; latencyMs: string }) => demoCommand(options));

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
