import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type { Producer } from '@flow-dispatcher/producer';
import { isValidFlowName, loadConfig } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import { csvRows } from '../enqueue/csv-source.js';
import type { BatchWriter, EnqueueResult } from '../enqueue/enqueue-run.js';
import { ndjsonRows } from '../enqueue/ndjson-source.js';
import { RejectsFile } from '../enqueue/rejects-file.js';
import { INPUT_NAME, type RowMapping, type SourceRow } from '../enqueue/source-row.js';
import { type OperatorContext, openOperatorContext } from '../operator/operator-redis.js';
import { operatorCommand } from '../options/operator-command.js';
import { parseWholeNumber } from '../options/whole-number-option.js';
import { formatCount, formatDuration, formatRate } from '../output/format-number.js';
import { UsageError } from '../usage-error.js';

interface EnqueueOptions {
  format?: string;
  delimiter: string;
  map: string[];
  dropColumn: string[];
  jsonColumn: string[];
  keyColumn?: string;
  rejects?: string;
  batchSize: string;
  dryRun?: boolean;
  progress: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `flow-dispatcher enqueue FLOW FILE`: a CSV or NDJSON file (or stdin) into the flow's queue. */
export function registerEnqueueCommand(program: Command): void {
  operatorCommand(program, 'enqueue')
    .summary('enqueue a CSV or NDJSON file (or stdin), one trigger per row')
    .description(
      'enqueue one trigger per row of a CSV or NDJSON file (`-` for stdin), streamed in bounded memory; bad rows go to a rejects file with their line numbers',
    )
    .argument('<flow>', 'flow API name')
    .argument('<file>', 'a .csv or .ndjson/.jsonl file, or - for stdin')
    .option('--format <format>', 'csv or ndjson (default: from the file extension, else sniffed)')
    .option('--delimiter <char>', 'CSV field delimiter', ',')
    .option(
      '--map <column=Input>',
      'send COLUMN as input Input (repeatable); CSV headers (or NDJSON fields) are input names otherwise',
      collect,
      [],
    )
    .option('--drop-column <column>', 'do not send this column or field (repeatable)', collect, [])
    .option(
      '--json-column <column>',
      'CSV: parse this column as JSON, for numbers, booleans and nested objects (repeatable); CSV cells are strings otherwise, and empty cells are left out',
      collect,
      [],
    )
    .option(
      '--key-column <column>',
      "each row's idempotency key: a re-run of the same file (after a crash) sends nothing twice within the idempotency window (IDEMPOTENCY_WINDOW_MS, 24 h). The column is also sent as an input unless dropped",
    )
    .option(
      '--rejects <file>',
      'where rejected rows go, one JSON object per line (default: FILE.rejects.ndjson, or ./enqueue-FLOW-TIME.rejects.ndjson for stdin); replaced on each run',
    )
    .option('--batch-size <n>', 'rows per write: the run holds one batch in memory', '5000')
    .option('--dry-run', 'validate every row and write the rejects file; enqueue nothing')
    .option('--no-progress', 'no progress bar or progress lines')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Typed inputs: CSV cells are strings. For numbers, booleans or nested objects use NDJSON
(one JSON object per line, e.g. {"IndividualId":"0PK...","Points":12,"Opt_In":true}),
or mark CSV columns with --json-column (cells such as 12, true or {"Sku":"X","Qty":2}).

Exit status: 0 when every valid row was stored (rejected rows are listed in the rejects file),
1 when Redis failed or the run was interrupted (re-run with the same --key-column to finish
safely), 2 for bad usage or when no valid row remains (header problems, every row rejected).`,
    )
    .action((flow: string, file: string, options: EnqueueOptions) => enqueue(flow, file, options));
}

async function enqueue(flow: string, file: string, options: EnqueueOptions): Promise<void> {
  if (!isValidFlowName(flow)) {
    throw new UsageError(
      `${JSON.stringify(flow)} is not a flow API name (a letter, then letters, digits or underscores)`,
    );
  }
  const batchSize = parseWholeNumber(options.batchSize, '--batch-size', 1, 50_000);
  const mapping = rowMapping(options);
  const stdin = file === '-';
  let totalBytes: number | undefined;
  if (!stdin) {
    const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (!info.isFile()) throw new UsageError(`${file} is not a file`);
    totalBytes = info.size;
  }
  const format = chooseFormat(file, options.format);
  if (format === 'ndjson' && options.delimiter !== ',') {
    throw new UsageError('--delimiter is for CSV files');
  }
  const rejectsPath = resolve(
    options.rejects ??
      (stdin
        ? `enqueue-${flow}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}.rejects.ndjson`
        : `${file}.rejects.ndjson`),
  );
  if (!stdin && rejectsPath === resolve(file)) {
    throw new UsageError('--rejects must not be the input file');
  }
  // Configuration and Redis are checked before the file is read (a dry run needs neither).
  let ctx: OperatorContext | undefined;
  let producer: Producer | undefined;
  let write: BatchWriter | undefined;
  if (!options.dryRun) {
    const config = loadConfig();
    ctx = await openOperatorContext({ config });
    const { Producer } = await import('@flow-dispatcher/producer');
    const p = Producer.fromConfig(config, { redis: ctx.redis });
    producer = p;
    write = (inputs, keys) => p.triggerMany(flow, inputs, { keys });
  }

  // Loaded once the arguments are checked: the row checks use the producer's and shared's code.
  const { runEnqueue } = await import('../enqueue/enqueue-run.js');
  const { EnqueueProgress } = await import('../enqueue/enqueue-progress.js');
  const rejects = new RejectsFile(rejectsPath);
  await rejects.clear();
  const input = stdin ? process.stdin : createReadStream(file, { highWaterMark: 256 * 1024 });
  const rows: AsyncIterable<SourceRow> =
    format === 'csv'
      ? csvRows(input, mapping, { delimiter: options.delimiter })
      : ndjsonRows(input, mapping);
  const label = `${flow} ← ${stdin ? 'stdin' : basename(file)}`;
  const progress = new EnqueueProgress({
    label,
    totalBytes,
    stream: process.stderr,
    enabled: options.progress,
  });
  let stopRequested = false;
  const onSignal = () => {
    if (stopRequested) {
      progress.stop();
      process.exit(1);
    }
    stopRequested = true;
    process.stderr.write('\nstopping after the current batch (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  let result: EnqueueResult;
  try {
    result = await runEnqueue({
      rows,
      write,
      batchSize,
      rejects,
      progress,
      shouldStop: () => stopRequested,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stdin) (input as ReturnType<typeof createReadStream>).destroy();
    await producer?.close();
    await ctx?.close();
  }
  const elapsedMs = Date.now() - started;
  const rejectsFile = result.rejected > 0 ? rejectsPath : null;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({
        flow,
        file: stdin ? '-' : file,
        format,
        dryRun: options.dryRun === true,
        rows: result.rows,
        accepted: result.accepted,
        duplicates: result.duplicates,
        rejected: result.rejected,
        rejectsFile,
        storedThroughLine: result.storedThroughLine,
        interrupted: result.interrupted,
        elapsedMs,
      })}\n`,
    );
  } else {
    process.stdout.write(
      summary(flow, stdin ? 'stdin' : file, result, elapsedMs, rejectsFile, options),
    );
  }

  if (result.error !== undefined) {
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(
      `stopped by an error: ${reason}; rows through line ${result.storedThroughLine} are stored${options.keyColumn ? '; re-run the same command to finish: stored rows are reported as duplicates' : ''}`,
      { cause: result.error },
    );
  }
  if (result.interrupted) {
    throw new Error(
      `interrupted: rows through line ${result.storedThroughLine} are stored${options.keyColumn ? '; re-run the same command to finish: stored rows are reported as duplicates' : ''}`,
    );
  }
  if (result.rows === 0) throw new UsageError(`no rows to enqueue in ${stdin ? 'stdin' : file}`);
  if (result.accepted + result.duplicates === 0) {
    const examples = result.firstRejects.map((r) => `line ${r.line}: ${r.reason}`).join('; ');
    throw new UsageError(
      `no valid rows: all ${formatCount(result.rejected)} rejected (${examples}${result.rejected > result.firstRejects.length ? '; …' : ''}); every row is in ${rejectsPath}`,
    );
  }
}

function summary(
  flow: string,
  source: string,
  r: EnqueueResult,
  elapsedMs: number,
  rejectsFile: string | null,
  options: EnqueueOptions,
): string {
  const width = formatCount(Math.max(r.accepted, r.duplicates, r.rejected)).length;
  const n = (value: number) => formatCount(value).padStart(width);
  const rate = elapsedMs > 0 ? (r.rows * 1_000) / elapsedMs : 0;
  const lines = [
    `${options.dryRun ? 'dry run: ' : ''}${formatCount(r.rows)} row(s) of ${source} for ${flow} in ${formatDuration(elapsedMs)} (${formatRate(rate)} rows/s)`,
    options.dryRun
      ? `  valid       ${n(r.accepted)}  (nothing was enqueued)`
      : `  accepted    ${n(r.accepted)}  (enqueued)`,
  ];
  if (!options.dryRun) {
    lines.push(
      `  duplicates  ${n(r.duplicates)}  (key already enqueued within the idempotency window: not sent again)`,
    );
  }
  lines.push(
    `  rejected    ${n(r.rejected)}${rejectsFile ? `  (with line numbers and reasons in ${rejectsFile})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

function rowMapping(options: EnqueueOptions): RowMapping {
  const rename = new Map<string, string>();
  for (const entry of options.map) {
    const at = entry.lastIndexOf('=');
    const column = entry.slice(0, at).trim();
    const target = entry.slice(at + 1).trim();
    if (at <= 0 || column === '') {
      throw new UsageError(`--map expects COLUMN=InputName, got ${JSON.stringify(entry)}`);
    }
    if (!INPUT_NAME.test(target)) {
      throw new UsageError(
        `--map ${JSON.stringify(entry)}: ${JSON.stringify(target)} is not a Salesforce input name (to leave a column out, use --drop-column)`,
      );
    }
    if (rename.has(column)) throw new UsageError(`--map names column ${column} twice`);
    rename.set(column, target);
  }
  if (options.keyColumn !== undefined && options.keyColumn.trim() === '') {
    throw new UsageError('--key-column needs a column name');
  }
  return {
    rename,
    drop: new Set(options.dropColumn.map((c) => c.trim())),
    json: new Set(options.jsonColumn.map((c) => c.trim())),
    keyColumn: options.keyColumn?.trim(),
  };
}

function chooseFormat(file: string, given: string | undefined): 'csv' | 'ndjson' {
  if (given !== undefined) {
    if (given === 'csv' || given === 'ndjson') return given;
    throw new UsageError(`--format expects csv or ndjson, got ${JSON.stringify(given)}`);
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (file === '-') {
    throw new UsageError('reading stdin: say what it holds with --format csv or --format ndjson');
  }
  throw new UsageError(
    `cannot tell the format of ${file} from its extension: pass --format csv or --format ndjson`,
  );
}
