import { InvalidPaceError, parsePaceRate, parsePaceWindow } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import { withFlowControl } from '../operator/with-flow-control.js';
import { operatorCommand } from '../options/operator-command.js';
import { formatPace } from '../output/format-pace.js';
import { UsageError } from '../usage-error.js';
import { checkFlowArgument } from './pause-command.js';

/** A rate or window the pace refuses, as a usage error (exit 2, one line). */
function parseOrRefuse<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof InvalidPaceError) throw new UsageError(err.message);
    throw err;
  }
}

/** `flow-dispatcher pace FLOW RATE [--window DURATION]`, `pace FLOW --off` (or `pace FLOW off`). */
export function registerPaceCommand(program: Command): void {
  operatorCommand(program, 'pace')
    .summary('limit how fast the fleet sends a flow (e.g. 500/min), or `off`')
    .description(
      'pace a flow fleet-wide: every worker together sends at most RATE of its triggers (per s, min or hour: 100/s, 500/min, 2000/hour), averaged over the window (1 s unless --window); calls still fill up to half a window of the rate. --off (or `off` as the rate) removes the pace',
    )
    .argument('<flow>', 'flow API name')
    .argument('[rate]', 'triggers per s, min or hour (e.g. 500/min), or off')
    .option('--off', 'remove the pace')
    .option(
      '--window <duration>',
      'averaging window, 1s to 1h (longer: fuller calls, fewer API calls, bigger bursts)',
    )
    .option('--json', 'print the result as JSON')
    .action(
      async (
        flow: string,
        rate: string | undefined,
        options: { off?: boolean; window?: string; json?: boolean },
      ) => {
        checkFlowArgument(flow);
        if (rate === undefined && !options.off) {
          throw new UsageError('give a rate (e.g. 500/min), or --off');
        }
        if (rate !== undefined && options.off) {
          throw new UsageError('give a rate or --off, not both');
        }
        const off = options.off === true || rate?.trim().toLowerCase() === 'off';
        if (off && options.window !== undefined) {
          throw new UsageError('--window goes with a rate, not with off');
        }
        const perSecond = off ? undefined : parseOrRefuse(() => parsePaceRate(rate as string));
        const windowMs =
          options.window === undefined
            ? undefined
            : parseOrRefuse(() => parsePaceWindow(options.window as string));
        await withFlowControl(async ({ control }) => {
          if (perSecond === undefined) {
            const was = await control.unpace(flow);
            if (options.json) {
              process.stdout.write(`${JSON.stringify({ flow, pace: null, wasPaced: was })}\n`);
              return;
            }
            process.stdout.write(
              was
                ? `${flow} is no longer paced: the fleet sends it as fast as the org's limits allow\n`
                : `${flow} was not paced\n`,
            );
            return;
          }
          const result = await control.pace(flow, {
            perSecond,
            ...(windowMs === undefined ? {} : { windowMs }),
          });
          if (options.json) {
            process.stdout.write(`${JSON.stringify(result)}\n`);
            return;
          }
          process.stdout.write(
            `paced ${flow} fleet-wide at ${formatPace(result.pace)} (workers apply it within a few seconds; \`flow-dispatcher pace ${flow} off\` removes it)\n`,
          );
          if (result.registered) {
            process.stdout.write(
              `note: ${flow} has had no triggers yet; it is now registered and paced when they arrive\n`,
            );
          }
        });
      },
    );
}
