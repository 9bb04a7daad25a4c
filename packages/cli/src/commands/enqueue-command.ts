import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import type { Producer } from '@flow-dispatcher/producer';
import type { TracingHandle } from '@flow-dispatcher/shared';
import { type Config, isValidFlowName, loadConfig } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import { csvRows } from '../enqueue/csv-source.js';
import type { DescribeGate } from '../enqueue/describe-gate.js';
import type { BatchWriter, EnqueueResult } from '../enqueue/enqueue-run.js';
import { ndjsonRows } from '../enqueue/ndjson-source.js';
import { RejectsFile } from '../enqueue/rejects-file.js';
import {
  INPUT_NAME,
  NDJSON_CHECKED_ROWS,
  type RowMapping,
  type SourceRow,
} from '../enqueue/source-row.js';
import { describeFlowNow, isCredentialRefusal, isFlowMissing } from '../operator/flow-describe.js';
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
  keyAsInput?: boolean;
  describeCheck: boolean;
  rejects?: string;
  batchSize: string;
  dryRun?: boolean;
  progress: boolean;
  json?: boolean;
  priority: string;
  notBefore?: string;
  delay?: string;
  notBeforeColumn?: string;
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
      "each row's idempotency key: a re-run of the same file (after a crash) sends nothing twice within the idempotency window (IDEMPOTENCY_WINDOW_MS, 24 h). The column is the key only, not an input",
    )
    .option(
      '--key-as-input',
      'send the --key-column as an input too (the flow must declare it). Until this option was added, the key column was always sent: see Upgrading in the README',
    )
    .option(
      '--no-describe-check',
      "do not check the file against the flow's describe (see below), and do not ask Salesforce for it",
    )
    .option(
      '--rejects <file>',
      'where rejected rows go, one JSON object per line (default: FILE.rejects.ndjson, or ./enqueue-FLOW-TIME.rejects.ndjson for stdin); replaced on each run',
    )
    .option(
      '--priority <lane>',
      "the triggers' lane within the flow: high, normal or low (a call is filled from high first); a file is usually a backfill, hence the default",
      'low',
    )
    .option(
      '--not-before <instant>',
      'send no row before this ISO-8601 instant with a zone (2026-12-24T09:00:00Z, or +01:00); at most 366 days ahead',
    )
    .option('--delay <ms>', 'send no row before this many milliseconds after the run starts')
    .option(
      '--not-before-column <column>',
      "each row's notBefore (an ISO-8601 instant with a zone, or epoch ms; empty: at once); the column is not sent as an input, and a bad value rejects the row",
    )
    .option('--batch-size <n>', 'rows per write: the run holds one batch in memory', '5000')
    .option('--dry-run', 'validate every row and write the rejects file; enqueue nothing')
    .option('--no-progress', 'no progress bar or progress lines')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Describe check: with Salesforce credentials configured (the worker's SF_* variables), the flow's
describe is read first and the CSV header (or the fields of the first ${NDJSON_CHECKED_ROWS} NDJSON rows) checked
against it, as ingest checks requests: a column the flow does not declare, or a required input no
column sends, stops the run before anything is written (exit 2), naming the column and the fix
(--drop-column COLUMN, --map COLUMN=Input). Rows that leave a required input empty are rejected.
Without credentials the check is skipped, and a successful run says so on stderr.

Typed inputs: CSV cells are strings. For numbers, booleans or nested objects use NDJSON
(one JSON object per line, e.g. {"IndividualId":"0PK...","Points":12,"Opt_In":true}),
or mark CSV columns with --json-column (cells such as 12, true or {"Sku":"X","Qty":2}).

Exit status: 0 when every valid row was stored (rejected rows are listed in the rejects file),
1 when Redis failed or the run was interrupted (re-run with the same --key-column to finish
safely) or the flow's describe could not be read (nothing was enqueued), 2 for bad usage or when
no valid row remains (header problems, a column the flow does not declare, a flow Salesforce does
not have, every row rejected).`,
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
  const priority = options.priority;
  if (priority !== 'high' && priority !== 'normal' && priority !== 'low') {
    throw new UsageError(`--priority expects high, normal or low, got ${JSON.stringify(priority)}`);
  }
  const notBefore = await scheduleOption(options);
  if (options.notBeforeColumn !== undefined && notBefore !== undefined) {
    throw new UsageError('--not-before-column and --not-before/--delay: choose one');
  }
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
  // Configuration, the flow's describe and Redis are checked before the file is read (a dry run
  // needs no Redis).
  const config = loadConfig();
  const { gate, skipped } = options.describeCheck
    ? await describeGate(config, flow, format, mapping)
    : { gate: undefined, skipped: undefined };
  let ctx: OperatorContext | undefined;
  let producer: Producer | undefined;
  let write: BatchWriter | undefined;
  let tracing: TracingHandle | undefined;
  if (!options.dryRun) {
    ctx = await openOperatorContext({ config });
    // OpenTelemetry, only with OTEL_EXPORTER_OTLP_ENDPOINT: each batch's triggerMany is a span.
    const { startTracing } = await import('@flow-dispatcher/shared');
    tracing = await startTracing('flow-dispatcher-cli');
    const { Producer } = await import('@flow-dispatcher/producer');
    const p = Producer.fromConfig(config, { redis: ctx.redis, source: 'cli' });
    producer = p;
    write = (inputs, keys, notBefores) =>
      p.triggerMany(flow, inputs, { keys, priority, notBefore: notBefores ?? notBefore });
  }

  // Loaded once the arguments are checked: the row checks use the producer's and shared's code.
  const { runEnqueue } = await import('../enqueue/enqueue-run.js');
  const { EnqueueProgress } = await import('../enqueue/enqueue-progress.js');
  const rejects = new RejectsFile(rejectsPath);
  await rejects.clear();
  const input = stdin ? process.stdin : createReadStream(file, { highWaterMark: 256 * 1024 });
  const checkColumns = gate?.checkColumns;
  const rows: AsyncIterable<SourceRow> =
    format === 'csv'
      ? csvRows(input, mapping, { delimiter: options.delimiter, checkColumns })
      : ndjsonRows(input, mapping, { checkColumns });
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
      checkInput: gate ? (row) => gate.rowProblem(row) : undefined,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!stdin) (input as ReturnType<typeof createReadStream>).destroy();
    await producer?.close();
    await ctx?.close();
    await tracing?.shutdown();
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
        describeChecked: gate !== undefined,
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
  // Said once the run succeeded, so that a failed run's stderr stays its one-line reason.
  if (skipped !== undefined) {
    process.stderr.write(
      `flow-dispatcher: the file was not checked against flow ${flow}'s inputs: ${skipped}\n`,
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

/** `--not-before` / `--delay` as a due time (epoch ms), undefined for none; UsageError if bad. */
async function scheduleOption(options: EnqueueOptions): Promise<number | undefined> {
  if (options.notBefore === undefined && options.delay === undefined) return undefined;
  const { readNotBefore, ScheduleError } = await import('@flow-dispatcher/shared');
  let delay: number | undefined;
  if (options.delay !== undefined) {
    if (!/^\d+$/.test(options.delay)) {
      throw new UsageError(
        `--delay expects milliseconds (a whole number), got ${JSON.stringify(options.delay)}`,
      );
    }
    delay = Number(options.delay);
  }
  try {
    return readNotBefore(options.notBefore, delay, Date.now());
  } catch (err) {
    if (err instanceof ScheduleError) {
      throw new UsageError(`--${err.field === 'delay' ? 'delay' : 'not-before'}: ${err.message}`);
    }
    throw err;
  }
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
  const drop = new Set(options.dropColumn.map((c) => c.trim()));
  const keyColumn = options.keyColumn?.trim();
  const keyAsInput = options.keyAsInput === true;
  if (keyColumn === '') throw new UsageError('--key-column needs a column name');
  if (keyColumn === undefined) {
    if (keyAsInput) throw new UsageError('--key-as-input needs a --key-column');
  } else if (keyAsInput) {
    if (drop.has(keyColumn)) {
      throw new UsageError(
        `--key-as-input sends the key column ${keyColumn} as an input, and --drop-column ${keyColumn} leaves it out: choose one`,
      );
    }
  } else if (rename.has(keyColumn)) {
    throw new UsageError(
      `--map ${keyColumn}=${rename.get(keyColumn)}: ${keyColumn} is the --key-column, which is not sent as an input; add --key-as-input to send it as one too`,
    );
  } else if (keyColumn === 'IndividualId') {
    throw new UsageError(
      '--key-column IndividualId: the key column is not sent as an input, and every trigger needs IndividualId; add --key-as-input to use it as both',
    );
  }
  const notBeforeColumn = options.notBeforeColumn?.trim();
  if (notBeforeColumn === '') throw new UsageError('--not-before-column needs a column name');
  if (notBeforeColumn !== undefined && notBeforeColumn === keyColumn) {
    throw new UsageError('--not-before-column and --key-column name the same column');
  }
  return {
    rename,
    drop,
    json: new Set(options.jsonColumn.map((c) => c.trim())),
    keyColumn,
    keyAsInput,
    notBeforeColumn,
  };
}

/**
 * The flow's describe as a gate for the file (see `--help`), or why there is nothing to check
 * against: no credentials configured, or a describe that lists no inputs (a shape we do not
 * recognise, so nothing is checked, as ingest does); the caller says so on stderr.
 * A flow Salesforce does not have, or refused credentials, stop the run (exit 2); a Salesforce
 * that cannot be reached stops it too (exit 1): the user asked for a check by configuring it.
 */
async function describeGate(
  config: Config,
  flow: string,
  format: 'csv' | 'ndjson',
  mapping: RowMapping,
): Promise<{ gate?: DescribeGate; skipped?: string }> {
  if (config.salesforce.auth === undefined) {
    return {
      skipped:
        'no Salesforce credentials are configured (SF_LOGIN_URL and the others; --no-describe-check skips the check without this note)',
    };
  }
  const describe = await describeFlowNow(config, flow).catch((err: unknown) => {
    const reason = err instanceof Error ? err.message : String(err);
    if (isFlowMissing(err)) {
      throw new UsageError(
        `flow ${flow} was not found in Salesforce (it does not exist, is not active, or is not shared with the API user); nothing was enqueued: check the name, or pass --no-describe-check to enqueue anyway`,
        { cause: err },
      );
    }
    if (isCredentialRefusal(err)) {
      throw new UsageError(
        `Salesforce refused the configured credentials (${reason}); nothing was enqueued: fix the SF_* variables, or pass --no-describe-check`,
        { cause: err },
      );
    }
    throw new Error(
      `the describe of flow ${flow} could not be read from Salesforce (${reason}); nothing was enqueued: try again, or pass --no-describe-check to enqueue without the check`,
      { cause: err },
    );
  });
  if (describe.inputs.length === 0) return { skipped: 'its describe lists no inputs' };
  const { DescribeGate } = await import('../enqueue/describe-gate.js');
  return {
    gate: new DescribeGate(describe, {
      format,
      keyColumn: mapping.keyColumn,
      keyAsInput: mapping.keyAsInput,
    }),
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
