import { isValidFlowName } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import { withFlowControl } from '../operator/with-flow-control.js';
import { operatorCommand } from '../options/operator-command.js';
import { UsageError } from '../usage-error.js';

/** Refuses a flow argument that cannot be a flow API name (exit 2). */
export function checkFlowArgument(flow: string | undefined): void {
  if (flow !== undefined && !isValidFlowName(flow)) {
    throw new UsageError(
      `${JSON.stringify(flow)} is not a flow API name (a letter, then letters, digits or underscores)`,
    );
  }
}

/** `flow-dispatcher pause [FLOW]`. */
export function registerPauseCommand(program: Command): void {
  operatorCommand(program, 'pause')
    .summary('pause a flow, or every flow, fleet-wide')
    .description(
      'pause a flow fleet-wide (no worker fetches its triggers until `resume`); without FLOW, pause every flow, including flows that appear later',
    )
    .argument('[flow]', 'flow API name')
    .option('--json', 'print the result as JSON')
    .action(async (flow: string | undefined, options: { json?: boolean }) => {
      checkFlowArgument(flow);
      await withFlowControl(async ({ control }) => {
        const result = await control.pause(flow);
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ paused: result.flows, fleet: flow === undefined, registered: result.registered })}\n`,
          );
          return;
        }
        if (flow === undefined) {
          process.stdout.write(
            `paused the fleet: ${result.flows.length} flow(s)${result.flows.length ? ` (${result.flows.join(', ')})` : ''}, and any flow that appears later; undo with \`flow-dispatcher resume\`\n`,
          );
        } else {
          process.stdout.write(
            `paused ${flow} fleet-wide: its triggers stay queued until \`flow-dispatcher resume ${flow}\` (chunks a worker already holds still finish)\n`,
          );
          if (result.registered) {
            process.stdout.write(
              `note: ${flow} has had no triggers yet; it is now registered and stays paused when they arrive\n`,
            );
          }
        }
      });
    });
}
