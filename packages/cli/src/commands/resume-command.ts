import type { Command } from 'commander';
import { withFlowControl } from '../operator/with-flow-control.js';
import { operatorCommand } from '../options/operator-command.js';
import { UsageError } from '../usage-error.js';
import { checkFlowArgument } from './pause-command.js';

/** `flow-dispatcher resume [FLOW]`. */
export function registerResumeCommand(program: Command): void {
  operatorCommand(program, 'resume')
    .summary('resume a flow, or every flow, fleet-wide')
    .description(
      "resume a paused flow fleet-wide and release its hold (a flow held because Salesforce said it was missing or refused it, or because its breaker tripped); without FLOW, resume every flow and lift the fleet's pause and the org's hold",
    )
    .argument('[flow]', 'flow API name')
    .option('--json', 'print the result as JSON')
    .action(async (flow: string | undefined, options: { json?: boolean }) => {
      checkFlowArgument(flow);
      await withFlowControl(async ({ control, ctx }) => {
        if (flow !== undefined && !(await control.isKnown(flow))) {
          const known = await control.flows();
          throw new UsageError(
            `${flow} is not a known flow (known: ${known.length ? known.join(', ') : 'none'})`,
          );
        }
        const resumed = await control.resume(flow);
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ resumed, fleet: flow === undefined })}\n`);
          return;
        }
        process.stdout.write(
          flow === undefined
            ? `resumed the fleet: ${resumed.length} flow(s)${resumed.length ? ` (${resumed.join(', ')})` : ''}\n`
            : `resumed ${flow} fleet-wide (its hold, if it had one, is released)\n`,
        );
        if (flow !== undefined && (await ctx.redis.exists(ctx.keys.pausedAll)) === 1) {
          process.stdout.write(
            'note: the fleet is paused: other flows, and flows that appear later, stay paused until `flow-dispatcher resume`\n',
          );
        }
      });
    });
}
