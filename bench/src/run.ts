#!/usr/bin/env node
/**
 * `pnpm bench [--quick] [options]`: runs the benchmark's scenarios, prints the report, writes
 * bench/results/<timestamp>-<name>.json (and .svg when there were system runs to chart). Exit 0
 * when it ran (targets missed or not), 2 on bad usage (one line), 1 when the harness itself failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchUsageError, benchUsage, parseBenchArgs } from './bench-options.js';
import { RESULTS_DIR } from './bench-paths.js';
import { benchReport } from './report-table.js';
import { runBench } from './run-bench.js';
import { throughputLatencySvg } from './svg-chart.js';

async function main(): Promise<void> {
  let options: ReturnType<typeof parseBenchArgs>;
  try {
    options = parseBenchArgs(process.argv.slice(2), process.env, RESULTS_DIR);
  } catch (err) {
    if (err instanceof BenchUsageError) {
      process.stderr.write(`bench: ${err.message} (see --help)\n`);
      process.exit(2);
    }
    throw err;
  }
  if (options === 'help') {
    process.stdout.write(benchUsage);
    return;
  }
  const startedAt = Date.now();
  const log = (line: string) =>
    process.stderr.write(
      `[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${line}\n`,
    );
  const result = await runBench(options, log);
  mkdirSync(options.outDir, { recursive: true });
  const stamp = result.startedAt.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const base = join(options.outDir, `${stamp}-${options.name}`);
  // The chart is of the drain, paced and bound runs; single and cluster are in the table only.
  const files = { json: `${base}.json`, svg: result.runs.length > 0 ? `${base}.svg` : undefined };
  writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  if (files.svg) {
    writeFileSync(
      files.svg,
      throughputLatencySvg(
        result.runs,
        `flow-dispatcher vs baselines: throughput against latency (${result.options.latencyMs} ms Salesforce, ${result.startedAt.slice(0, 10)})`,
      ),
    );
  }
  process.stdout.write(`${benchReport(result, files)}\n`);
}

main().catch((err) => {
  process.stderr.write(
    `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
