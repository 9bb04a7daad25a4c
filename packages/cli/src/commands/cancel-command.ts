import type { Command } from 'commander';
import { withFlowControl } from '../operator/with-flow-control.js';
import { operatorCommand } from '../options/operator-command.js';
import { UsageError } from '../usage-error.js';
import { checkFlowArgument } from './pause-command.js';

const collect = (value: string, previous: string[]) => [...previous, value];

interface CancelOptions {
  flow?: string;
  key: string[];
  json?: boolean;
}

/** `flow-dispatcher cancel ID… | --flow F --key K…` (README, "Cancelling"). */
export function registerCancelCommand(program: Command): void {
  operatorCommand(program, 'cancel')
    .summary('cancel triggers by id, or by flow and idempotency key, before they are sent')
    .description(
      'cancel triggers no worker has taken yet: each gets a final `cancelled` state and is never sent (a scheduled trigger can be cancelled until about 1 s before it is due)',
    )
    .argument('[ids...]', 'trigger ids')
    .option('--flow <flow>', 'with --key: the flow of the keys')
    .option('--key <key>', 'an idempotency key of --flow (repeatable)', collect, [])
    .option('--json', 'print one JSON object per trigger')
    .addHelpText(
      'after',
      `
Exit status: 0 when every trigger was found (cancelled, or already final, or being sent: each
line says which), 1 when one is unknown (or Redis failed), 2 for bad usage.`,
    )
    .action(async (ids: string[], options: CancelOptions) => {
      const byKey = options.key.length > 0;
      if (byKey && ids.length > 0)
        throw new UsageError('give trigger ids or --flow with --key, not both');
      if (byKey && options.flow === undefined) throw new UsageError('--key needs --flow');
      if (!byKey && options.flow !== undefined)
        throw new UsageError('--flow needs at least one --key');
      if (!byKey && ids.length === 0) throw new UsageError('give trigger ids, or --flow and --key');
      checkFlowArgument(options.flow);
      const targets: (string | { flow: string; key: string })[] = byKey
        ? options.key.map((key) => ({ flow: options.flow as string, key }))
        : ids;
      let unknown = 0;
      await withFlowControl(async ({ producer }) => {
        for (const target of targets) {
          const label = typeof target === 'string' ? target : `${target.flow} key ${target.key}`;
          const result = await producer().cancel(target);
          if (!result) unknown++;
          if (options.json) {
            process.stdout.write(`${JSON.stringify(result ?? { target: label, found: false })}\n`);
          } else if (!result) {
            process.stdout.write(`${label}: not found\n`);
          } else if (result.cancelled) {
            process.stdout.write(`${result.id}: cancelled\n`);
          } else {
            process.stdout.write(`${result.id}: not cancelled, ${result.state}\n`);
          }
        }
      });
      if (unknown > 0) throw new Error(`${unknown} of ${targets.length} trigger(s) not found`);
    });
}
