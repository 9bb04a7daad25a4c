import type { Command } from 'commander';
import { renderFlows } from '../flows/render-flows.js';
import { confirmOrRefuse } from '../operator/confirm.js';
import { withFlowControl } from '../operator/with-flow-control.js';
import { operatorCommand } from '../options/operator-command.js';
import { formatCount } from '../output/format-number.js';
import { UsageError } from '../usage-error.js';
import { checkFlowArgument } from './pause-command.js';

/** `flow-dispatcher flows` and `flow-dispatcher forget FLOW`. */
export function registerFlowsCommands(program: Command): void {
  operatorCommand(program, 'flows')
    .summary('the flows the fleet knows, their state, and why a held one is held')
    .description(
      'list every flow that has had a trigger: dispatching, paused, or held (Salesforce says it is missing or refuses it, or the same error hit every input of several calls), with its backlog and dead letters',
    )
    .option('--json', 'print JSON: {"heldAll", "pausedAll", "flows": [...]}')
    .action(async (options: { json?: boolean }) => {
      await withFlowControl(async ({ control, producer }) => {
        const status = await control.status();
        const dead = new Map<string, number>();
        for (const f of status.flows)
          dead.set(f.flow, await producer().deadLetters.count({ flow: f.flow }));
        if (options.json) {
          const flows = status.flows.map((f) => ({ ...f, deadLetters: dead.get(f.flow) ?? 0 }));
          process.stdout.write(
            `${JSON.stringify({ heldAll: status.heldAll, pausedAll: status.pausedAll, flows })}\n`,
          );
          return;
        }
        process.stdout.write(renderFlows(status, dead, Date.now()));
      });
    });

  operatorCommand(program, 'forget')
    .summary('drop a flow: its queue, backlog, records and dead letters')
    .description(
      'forget a flow the fleet knows (a made-up or retired name): its queued triggers, their records and its dead letters are deleted, and it leaves the registry; refused while a worker holds one of its chunks (pause it first)',
    )
    .argument('<flow>', 'flow API name')
    .option('--yes', 'do not ask for confirmation (needed without a terminal)')
    .option('--json', 'print the result as JSON')
    .action(async (flow: string, options: { yes?: boolean; json?: boolean }) => {
      checkFlowArgument(flow);
      await withFlowControl(async ({ control, producer }) => {
        if (!(await control.isKnown(flow))) {
          const known = await control.flows();
          throw new UsageError(
            `${flow} is not a known flow (known: ${known.length ? known.join(', ') : 'none'})`,
          );
        }
        const status = (await control.status()).flows.find((f) => f.flow === flow);
        const deadLetters = await producer().deadLetters.count({ flow });
        const what = `${formatCount(status?.pending ?? 0)} pending trigger(s) and ${formatCount(deadLetters)} dead letter(s) of ${flow}`;
        if (!options.yes) {
          const go = await confirmOrRefuse(
            `forget ${flow}: delete ${what}?`,
            `forget deletes ${what}: run it in a terminal, or pass --yes`,
          );
          if (!go) {
            process.stderr.write('nothing deleted\n');
            return;
          }
        }
        const { FlowBusyError } = await import('@flow-dispatcher/producer');
        let forgotten: { chunks: number; pending: number };
        try {
          forgotten = await control.forget(flow);
        } catch (err) {
          if (err instanceof FlowBusyError) throw new UsageError(err.message);
          throw err;
        }
        const purged = await producer().deadLetters.purge({ flow });
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ flow, ...forgotten, deadLetters: purged })}\n`);
          return;
        }
        process.stdout.write(
          `forgot ${flow}: ${formatCount(forgotten.pending)} pending trigger(s) in ${formatCount(forgotten.chunks)} chunk(s) and ${formatCount(purged)} dead letter(s) deleted\n`,
        );
      });
    });
}
