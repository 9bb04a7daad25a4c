import type { DeadLetterFilter, Producer } from '@flow-dispatcher/producer';
import type { InputEdits } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import {
  type DeadLetterFilterOptions,
  deadLetterFilter,
  describeFilter,
} from '../dlq/dead-letter-filter-options.js';
import {
  collect,
  describeInputEdits,
  type InputEditOptions,
  inputEdits,
} from '../dlq/input-edit-options.js';
import { renderDeadLetter, renderDeadLetterList } from '../dlq/render-dead-letters.js';
import { confirmOrRefuse } from '../operator/confirm.js';
import { type OperatorContext, openOperatorContext } from '../operator/operator-redis.js';
import { operatorCommand } from '../options/operator-command.js';
import { parseWholeNumber } from '../options/whole-number-option.js';
import { formatCount } from '../output/format-number.js';
import { UsageError } from '../usage-error.js';

interface ListOptions extends DeadLetterFilterOptions {
  limit: string;
  json?: boolean;
}

interface ActOptions extends DeadLetterFilterOptions, InputEditOptions {
  yes?: boolean;
  json?: boolean;
}

function filterFlags(command: Command): Command {
  return command
    .option('--flow <flow>', 'only this flow')
    .option('--error-code <code>', 'only this error code, e.g. UNKNOWN_EXCEPTION or MAX_ATTEMPTS')
    .option(
      '--since <time>',
      'dead-lettered at or after TIME: ISO 8601, or an age such as 2h or 30m',
    )
    .option('--until <time>', 'dead-lettered before TIME: ISO 8601, or an age such as 10m');
}

/** `flow-dispatcher dlq list|show|replay|purge`. */
export function registerDlqCommand(program: Command): void {
  const dlq = operatorCommand(program, 'dlq')
    .summary('list, show, replay or purge dead letters')
    .description(
      'dead letters: triggers Salesforce refused for good or that ran out of attempts (list, show, replay, purge)',
    )
    .action(() => {
      throw new UsageError('dlq needs a subcommand: list, show, replay or purge (see dlq --help)');
    });

  filterFlags(operatorCommand(dlq, 'list'))
    .description('list dead letters, oldest first (without their inputs; see `dlq show ID`)')
    .option('--limit <n>', 'show at most N', '50')
    .option('--json', 'print JSON: {"total", "deadLetters": [...]}, inputs included')
    .action((options: ListOptions) => withProducer((p) => list(p, options)));

  operatorCommand(dlq, 'show')
    .description('print one dead letter in full, its input included')
    .argument('<id>', 'trigger id, as `dlq list` prints it')
    .option('--json', 'print JSON')
    .action((id: string, options: { json?: boolean }) => withProducer((p) => show(p, id, options)));

  filterFlags(operatorCommand(dlq, 'replay'))
    .description(
      'send matching dead letters again, under their own trigger ids (all of them without a filter); asks first unless --yes',
    )
    .argument('[ids...]', 'only these trigger ids')
    .option(
      '--drop-input <name>',
      'leave input NAME out of each replayed trigger (repeatable), e.g. one the flow does not have',
      collect,
    )
    .option(
      '--rename-input <old=new>',
      'send input OLD as NEW in each replayed trigger (repeatable)',
      collect,
    )
    .option('--yes', 'do not ask (required without a terminal)')
    .option('--json', 'print the result as JSON')
    .action((ids: string[], options: ActOptions) => {
      // Checked before anything connects: a bad flag is exit 2 with one line.
      const edits = inputEdits(options);
      return withProducer((p) => act(p, 'replay', ids, options, edits));
    });

  filterFlags(operatorCommand(dlq, 'purge'))
    .description(
      'delete matching dead letters for good (all of them without a filter); asks first unless --yes',
    )
    .argument('[ids...]', 'only these trigger ids')
    .option('--yes', 'do not ask (required without a terminal)')
    .option('--json', 'print the result as JSON')
    .action((ids: string[], options: ActOptions) =>
      withProducer((p) => act(p, 'purge', ids, options)),
    );
}

async function withProducer(run: (producer: Producer) => Promise<void>): Promise<void> {
  const ctx: OperatorContext = await openOperatorContext();
  const { Producer } = await import('@flow-dispatcher/producer');
  const producer = Producer.fromConfig(ctx.config, { redis: ctx.redis });
  try {
    await run(producer);
  } finally {
    await producer.close();
    await ctx.close();
  }
}

async function list(producer: Producer, options: ListOptions): Promise<void> {
  const limit = parseWholeNumber(options.limit, '--limit', 1, 100_000);
  const filter = deadLetterFilter(options, Date.now());
  const [letters, total] = await Promise.all([
    producer.deadLetters.list(filter, limit),
    producer.deadLetters.count(filter),
  ]);
  process.stdout.write(
    options.json
      ? `${JSON.stringify({ total, deadLetters: letters })}\n`
      : renderDeadLetterList(letters, total),
  );
}

async function show(producer: Producer, id: string, options: { json?: boolean }): Promise<void> {
  const letter = await producer.deadLetters.get(id);
  if (!letter) {
    throw new Error(`no dead letter ${JSON.stringify(id)} (replayed, purged, or never dead)`);
  }
  process.stdout.write(options.json ? `${JSON.stringify(letter)}\n` : renderDeadLetter(letter));
}

async function act(
  producer: Producer,
  action: 'replay' | 'purge',
  ids: readonly string[],
  options: ActOptions,
  edits?: InputEdits,
): Promise<void> {
  const now = Date.now();
  const filter: DeadLetterFilter = deadLetterFilter(options, now, ids);
  // What is counted is what is acted on: letters that die from now on are left alone (a replayed
  // trigger that dies again is not replayed twice by the same command).
  filter.until ??= now + 1;
  const matching = await producer.deadLetters.count(filter);
  const what = describeFilter({
    ...filter,
    until: options.until === undefined ? undefined : filter.until,
  });
  const changes = edits ? `, ${describeInputEdits(edits)}` : '';
  const result = (done: number) => {
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ [action === 'replay' ? 'replayed' : 'purged']: done, matching })}\n`,
      );
      return;
    }
    // What this command did: letters another replay or purge took meanwhile are not counted.
    const others =
      done < matching
        ? `; ${formatCount(matching - done)} of the ${formatCount(matching)} matching were replayed or purged by someone else meanwhile`
        : '';
    process.stdout.write(
      `${action === 'replay' ? 'replayed' : 'purged'} ${formatCount(done)} dead letter(s) (${what})${changes}${others}${action === 'replay' && done > 0 ? '; `flow-dispatcher stats` shows them settle' : ''}\n`,
    );
  };
  if (matching === 0) {
    if (!options.json) process.stdout.write(`no dead letters match (${what})\n`);
    else result(0);
    return;
  }
  if (!options.yes) {
    const verb = action === 'replay' ? 'Replay' : 'Delete for good';
    const ok = await confirmOrRefuse(
      `${verb} ${formatCount(matching)} dead letter(s) (${what})${changes}?`,
      `refusing to ${action} ${formatCount(matching)} dead letter(s) without --yes (stdin is not a terminal)`,
    );
    if (!ok) {
      process.stdout.write(`cancelled: nothing ${action === 'replay' ? 'replayed' : 'purged'}\n`);
      return;
    }
  }
  if (action === 'purge') {
    result(await producer.deadLetters.purge(filter));
    return;
  }
  const tty = process.stderr.isTTY === true;
  let replayed: number;
  try {
    replayed = await producer.deadLetters.replay(filter, {
      edits,
      onProgress: (n) => {
        if (tty)
          process.stderr.write(`\r\x1b[2Kreplayed ${formatCount(n)} of ${formatCount(matching)}`);
      },
    });
  } catch (err) {
    // The letters do not fit the flags: the operator's to decide; nothing was replayed.
    if ((err as { code?: unknown })?.code === 'INPUT_EDIT_CONFLICT') {
      throw new UsageError((err as Error).message);
    }
    throw err;
  } finally {
    if (tty) process.stderr.write('\r\x1b[2K');
  }
  result(replayed);
}
