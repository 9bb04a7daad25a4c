import type { RedisConnection, RedisKeys } from '@flow-dispatcher/shared';
import type { Command } from 'commander';
import { withFlowControl } from '../operator/with-flow-control.js';
import { parseDurationMs } from '../options/duration-option.js';
import { operatorCommand } from '../options/operator-command.js';
import { formatCount, formatDuration } from '../output/format-number.js';
import { RateMeter } from '../output/rate-meter.js';
import { UsageError } from '../usage-error.js';
import { checkFlowArgument } from './pause-command.js';

interface DrainOptions {
  flow?: string;
  timeout?: string;
  json?: boolean;
}

const POLL_MS = 1_000;

/** `flow-dispatcher drain`: waits until no trigger is pending. */
export function registerDrainCommand(program: Command): void {
  operatorCommand(program, 'drain')
    .summary('wait until no trigger is pending')
    .description(
      'wait until the backlog is empty (every stored trigger succeeded or was dead-lettered), showing progress; exit 0 when drained, 1 on --timeout',
    )
    .option('--flow <flow>', 'wait for this flow only')
    .option(
      '--timeout <duration>',
      'give up after this long, e.g. 10m (default: wait as long as it takes)',
    )
    .option('--json', 'print the final result as JSON')
    .action((options: DrainOptions) => drain(options));
}

async function drain(options: DrainOptions): Promise<void> {
  checkFlowArgument(options.flow);
  const timeoutMs =
    options.timeout === undefined ? undefined : parseDurationMs(options.timeout, '--timeout');
  if (timeoutMs !== undefined && timeoutMs <= 0) throw new UsageError('--timeout must be above 0');
  await withFlowControl(async ({ control, ctx }) => {
    const err = process.stderr;
    const started = Date.now();
    // cli-progress is loaded only once drain runs (usage errors and --help stay quick).
    const { DrainProgress } = await import('../output/drain-progress.js');
    const meter = new RateMeter(15_000);
    const progress = new DrainProgress(err);
    let left = Number.NaN;
    const status = await control.status();
    for (const flow of status.flows) {
      if (options.flow !== undefined && flow.flow !== options.flow) continue;
      if ((flow.paused || status.pausedAll) && flow.pending > 0) {
        err.write(
          `note: ${flow.flow} is paused with ${formatCount(flow.pending)} pending trigger(s): drain cannot finish until it is resumed\n`,
        );
      }
    }
    for (;;) {
      const now = Date.now();
      try {
        left = await pendingTriggers(ctx.redis, ctx.keys, options.flow);
      } catch (e) {
        err.write(`redis: ${e instanceof Error ? e.message : String(e)}; trying again\n`);
      }
      if (left === 0) break;
      if (timeoutMs !== undefined && now - started >= timeoutMs) {
        progress.stop();
        throw new Error(
          `timed out after ${formatDuration(now - started)}: ${formatCount(left)} trigger(s) still pending`,
        );
      }
      if (Number.isFinite(left)) {
        meter.sample(now, left);
        progress.update(left, -meter.perSecond(), now - started, now);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    progress.stop();
    const elapsedMs = Date.now() - started;
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ drained: true, elapsedMs })}\n`);
    } else {
      process.stdout.write(
        `drained: no trigger pending${options.flow ? ` for ${options.flow}` : ''} (waited ${formatDuration(elapsedMs)})\n`,
      );
    }
  });
}

/** Triggers stored and not settled, over every flow or one, in every queue partition. */
async function pendingTriggers(
  redis: RedisConnection,
  keys: RedisKeys,
  flow: string | undefined,
): Promise<number> {
  const counts = await Promise.all(
    keys.allPartitions.map(async ({ pending }) =>
      flow !== undefined ? [(await redis.hget(pending, flow)) ?? '0'] : redis.hvals(pending),
    ),
  );
  return counts.flat().reduce((sum, n) => sum + Math.max(0, Number(n)), 0);
}
