import { STATS_BUCKET_SECONDS } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import { withFlowControl } from '../operator/with-flow-control.js';
import { parseDurationMs } from '../options/duration-option.js';
import { operatorCommand } from '../options/operator-command.js';
import { renderStats } from '../stats/render-stats.js';
import { readStatsSnapshot } from '../stats/stats-snapshot.js';
import { UsageError } from '../usage-error.js';

interface StatsOptions {
  watch?: boolean;
  json?: boolean;
  window: string;
}

const WATCH_INTERVAL_MS = 2_000;
/** Stats buckets expire after an hour. */
const MAX_WINDOW_SECONDS = 3_600;

/** `flow-dispatcher stats [--watch] [--json]`. */
export function registerStatsCommand(program: Command): void {
  operatorCommand(program, 'stats')
    .summary('backlog, rates, limits, paused flows and dead letters of the fleet')
    .description(
      'the fleet at a glance: backlog by state, triggers/s by outcome, calls/s, inputs per call, API usage and budget, concurrency, paused flows, held flows and why, dead letters',
    )
    .option('--watch', `refresh every ${WATCH_INTERVAL_MS / 1_000} s until Ctrl-C`)
    .option('--json', 'print JSON (with --watch: one object per line)')
    .option(
      '--window <duration>',
      'rates and totals over the last complete DURATION of fleet activity (10s steps, at most 1h)',
      '1m',
    )
    .action((options: StatsOptions) => stats(options));
}

async function stats(options: StatsOptions): Promise<void> {
  const windowMs = parseDurationMs(options.window, '--window');
  const windowSeconds = Math.round(windowMs / 1_000);
  if (windowSeconds < STATS_BUCKET_SECONDS || windowSeconds > MAX_WINDOW_SECONDS) {
    throw new UsageError(
      `--window must be from ${STATS_BUCKET_SECONDS}s to 1h, got ${JSON.stringify(options.window)}`,
    );
  }
  await withFlowControl(async ({ control, ctx }) => {
    const sources = {
      redis: ctx.redis,
      keys: ctx.keys,
      control,
      bucketSeconds: STATS_BUCKET_SECONDS,
    };
    const out = process.stdout;
    const show = async () => {
      const snapshot = await readStatsSnapshot(sources, windowSeconds);
      if (options.json) out.write(`${JSON.stringify(snapshot)}\n`);
      else if (options.watch && out.isTTY) out.write(`\x1b[H\x1b[2J${renderStats(snapshot)}`);
      else out.write(`${renderStats(snapshot)}${options.watch ? '\n' : ''}`);
    };
    if (!options.watch) {
      await show();
      return;
    }
    let stopped = false;
    let wake: (() => void) | undefined;
    const stop = () => {
      stopped = true;
      wake?.();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    while (!stopped) {
      try {
        await show();
      } catch (err) {
        process.stderr.write(
          `stats: ${err instanceof Error ? err.message : String(err)}; trying again\n`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WATCH_INTERVAL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  });
}
