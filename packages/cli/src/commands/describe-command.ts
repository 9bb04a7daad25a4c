import { isValidFlowName, loadConfig, requireSalesforceAuth } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import { describeFlowNow, isCredentialRefusal, isFlowMissing } from '../operator/flow-describe.js';
import { operatorCommand } from '../options/operator-command.js';
import { renderTable } from '../output/text-table.js';
import { UsageError } from '../usage-error.js';

/** `flow-dispatcher describe FLOW`: the flow's inputs, from Salesforce. */
export function registerDescribeCommand(program: Command): void {
  operatorCommand(program, 'describe')
    .summary("a flow's inputs (name, type, required), from Salesforce")
    .description(
      "the flow's inputs as Salesforce describes them (name, type, required), to build a CSV header or a trigger; needs the SF_* credentials",
    )
    .argument('<flow>', 'flow API name')
    .option('--json', 'print the describe as JSON')
    .action((flow: string, options: { json?: boolean }) => describe(flow, options));
}

async function describe(flow: string, options: { json?: boolean }): Promise<void> {
  if (!isValidFlowName(flow)) {
    throw new UsageError(
      `${JSON.stringify(flow)} is not a flow API name (a letter, then letters, digits or underscores)`,
    );
  }
  const config = loadConfig();
  // Checked before the Salesforce client loads: missing credentials (exit 2) are refused at once.
  requireSalesforceAuth(config);
  const described = await describeFlowNow(config, flow).catch((err: unknown) => {
    throw explain(err, flow);
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(described)}\n`);
    return;
  }
  const title = described.label ? `${described.name} (${described.label})` : described.name;
  const inputs =
    described.inputs.length === 0
      ? '(no inputs)'
      : renderTable(
          [
            { header: 'input' },
            { header: 'type' },
            { header: 'required' },
            { header: 'description', maxWidth: 60 },
          ],
          described.inputs.map((input) => [
            input.name,
            `${input.type ?? '?'}${input.maxOccurs > 1 ? ' (list)' : ''}`,
            input.required ? 'yes' : 'no',
            input.description ?? '',
          ]),
        );
  const outputs = described.outputs.length
    ? `\noutputs: ${described.outputs.map((o) => `${o.name} (${o.type ?? '?'})`).join(', ')}`
    : '';
  process.stdout.write(`${title}\n\n${inputs}${outputs}\n`);
}

function explain(err: unknown, flow: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  if (isFlowMissing(err)) {
    return new Error(
      `flow ${flow} was not found: it does not exist, is not active, or is not shared with the API user`,
      { cause: err },
    );
  }
  if (isCredentialRefusal(err)) {
    return new UsageError(`Salesforce refused the configured credentials: ${message}`, {
      cause: err,
    });
  }
  return new Error(`describe ${flow} failed: ${message}`, { cause: err });
}
