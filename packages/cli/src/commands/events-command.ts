import { hostname } from 'node:os';
import type { OutcomeEvent, Producer } from '@flow-dispatcher/producer';
import type { Command } from 'commander';
import { withFlowControl } from '../operator/with-flow-control.js';
import { parseDurationMs } from '../options/duration-option.js';
import { operatorCommand } from '../options/operator-command.js';
import { parseWholeNumber } from '../options/whole-number-option.js';
import { UsageError } from '../usage-error.js';
import { checkFlowArgument } from './pause-command.js';

interface EventsOptions {
  follow?: boolean;
  fromStart?: boolean;
  json?: boolean;
  flow?: string;
  group?: string;
  consumer?: string;
  limit: string;
  minIdle?: string;
}

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** `flow-dispatcher events`: outcome events (README "Outcome events"). */
export function registerEventsCommand(program: Command): void {
  operatorCommand(program, 'events')
    .summary('print outcome events (succeeded, dead, …) as triggers settle')
    .description(
      'print outcome events: the last --limit ones, or with --follow the new ones as they come (--from-start: every event kept first); with --group, read as a consumer of that consumer group (each event acknowledged once printed; implies --follow)',
    )
    .option('--follow', 'keep printing new events until interrupted')
    .option(
      '--from-start',
      'with --follow: start at the oldest event kept; with --group: where a new group starts',
    )
    .option(
      '--json',
      'print one JSON object per event (trigger id, key, flow, outcome, code, attempts, at, output)',
    )
    .option('--flow <flow>', 'only events of this flow')
    .option(
      '--group <group>',
      'read as a consumer of this consumer group (acknowledging what it printed)',
    )
    .option('--consumer <name>', 'consumer name within --group (default: host-pid)')
    .option(
      '--min-idle <duration>',
      "with --group: claim other consumers' events unacknowledged this long",
      '60s',
    )
    .option('--limit <n>', 'without --follow: print the last N events', '20')
    .action((options: EventsOptions) => events(options));
}

async function events(options: EventsOptions): Promise<void> {
  // Checked before anything connects: a bad flag is exit 2 with one line.
  checkFlowArgument(options.flow);
  const limit = parseWholeNumber(options.limit, '--limit', 1, 100_000);
  const minIdleMs = parseDurationMs(options.minIdle ?? '60s', '--min-idle');
  if (options.group !== undefined && !NAME.test(options.group))
    throw new UsageError('--group expects 1 to 64 letters, digits or "_.:-"');
  if (options.consumer !== undefined && options.group === undefined)
    throw new UsageError('--consumer needs --group');
  if (options.consumer !== undefined && !NAME.test(options.consumer))
    throw new UsageError('--consumer expects 1 to 64 letters, digits or "_.:-"');
  await withFlowControl(async ({ producer }) => {
    const print = (event: OutcomeEvent) => {
      if (options.flow !== undefined && event.flow !== options.flow) return;
      process.stdout.write(options.json ? `${JSON.stringify(event)}\n` : renderEvent(event));
    };
    if (!options.follow && options.group === undefined) {
      for (const event of await producer().recentOutcomes(limit)) print(event);
      return;
    }
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      for await (const event of read(producer(), options, minIdleMs, controller.signal))
        print(event);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}

function read(
  producer: Producer,
  options: EventsOptions,
  minIdleMs: number,
  signal: AbortSignal,
): AsyncGenerator<OutcomeEvent, void, undefined> {
  const from = options.fromStart ? 'start' : 'now';
  if (options.group === undefined) return producer.tailOutcomes({ from, signal });
  return producer.outcomes({
    group: options.group,
    consumer: options.consumer ?? `${hostname()}-${process.pid}`,
    flows: options.flow === undefined ? undefined : [options.flow],
    from,
    minIdleMs,
    signal,
  });
}

/**
 * One line per event: time, outcome, flow, trigger id, error code. Keys and outputValues may be
 * personal data: they are in --json only, for a reader that asked for the data.
 */
export function renderEvent(event: OutcomeEvent): string {
  const at = new Date(event.at).toISOString();
  const code = event.code ? `  ${event.code}` : '';
  return `${at}  ${event.outcome.padEnd(9)}  ${event.flow}  ${event.id}  attempts=${event.attempts}${code}\n`;
}
