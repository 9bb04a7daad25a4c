import type { FlowDescribe } from '@flow-dispatcher/salesforce';
import { ALWAYS_AVAILABLE_INPUTS, checkInputAgainstDescribe } from '@flow-dispatcher/salesforce';
import type { FlowInput } from '@flow-dispatcher/shared';
import { UsageError } from '../usage-error.js';
import { type InputColumn, NDJSON_CHECKED_ROWS } from './source-row.js';

/** Input names listed in a message before "…". */
const LISTED_INPUTS = 12;

/**
 * A flow's describe applied to a file, the way ingest applies it to a request (pure).
 *
 * The columns first, before anything is written (`checkColumns`): a column sent as an input the
 * flow does not declare, or a required input that no column sends, stops the run with one line
 * that names the column and the fix (`--drop-column`, `--map`, `--key-as-input`). Then each row
 * (`rowProblem`): a row whose required input is empty, or an NDJSON row with a field the first
 * rows did not have, is rejected like any bad row, so Salesforce never sees it. Names are
 * case-sensitive, as Salesforce's are.
 */
export class DescribeGate {
  readonly #declared: string[];
  readonly #noun: 'column' | 'field';

  constructor(
    private readonly describe: FlowDescribe,
    private readonly options: {
      format: 'csv' | 'ndjson';
      keyColumn?: string | undefined;
      keyAsInput?: boolean | undefined;
    },
  ) {
    const names = describe.inputs.map((input) => input.name);
    this.#declared = [...new Set([...names, ...ALWAYS_AVAILABLE_INPUTS])];
    this.#noun = options.format === 'csv' ? 'column' : 'field';
  }

  /** Throws a UsageError for the first column the flow would refuse (see the class comment). */
  readonly checkColumns = (columns: readonly InputColumn[]): void => {
    const flow = this.describe.name;
    const declared = new Set(this.#declared);
    for (const { column, input } of columns) {
      if (declared.has(input)) continue;
      const named =
        column === input
          ? `${this.#noun} ${JSON.stringify(column)}`
          : `${this.#noun} ${JSON.stringify(column)} (sent as input ${input})`;
      const sameButCase = this.#declared.find((d) => d.toLowerCase() === input.toLowerCase());
      if (sameButCase !== undefined) {
        throw new UsageError(
          `${named} is not an input of flow ${flow}, which takes ${sameButCase} (names are case-sensitive): send it as that with --map ${column}=${sameButCase}`,
        );
      }
      if (column === this.options.keyColumn && this.options.keyAsInput) {
        throw new UsageError(
          `${named} is not an input of flow ${flow}, which takes ${this.#listed()}: it is the key column, so leave out --key-as-input to use it as the key only, or send it as one of those with --map ${column}=INPUT`,
        );
      }
      throw new UsageError(
        `${named} is not an input of flow ${flow}, which takes ${this.#listed()}: leave it out with --drop-column ${column}, or send it as one of those with --map ${column}=INPUT`,
      );
    }
    const sent = new Set(columns.map((c) => c.input));
    for (const parameter of this.describe.inputs) {
      if (!parameter.required || sent.has(parameter.name)) continue;
      const where =
        this.options.format === 'csv'
          ? 'no column is sent as it'
          : `none of the first ${NDJSON_CHECKED_ROWS} rows has it`;
      throw new UsageError(
        `flow ${flow} requires input ${parameter.name}, and ${where}: add it, or name the ${this.#noun} that holds it with --map ${this.#noun.toUpperCase()}=${parameter.name}`,
      );
    }
  };

  /** Why the flow would refuse this row's input, or undefined. */
  rowProblem(input: FlowInput): string | undefined {
    return checkInputAgainstDescribe(input, this.describe)?.message;
  }

  #listed(): string {
    const shown = this.#declared.slice(0, LISTED_INPUTS).join(', ');
    const more = this.#declared.length - LISTED_INPUTS;
    return more > 0
      ? `${shown} and ${more} more (flow-dispatcher describe ${this.describe.name})`
      : shown;
  }
}
