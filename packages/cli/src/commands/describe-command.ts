import { isValidFlowName, loadConfig, requireSalesforceAuth } from '@flow-dispatcher/shared/config';
import type { Command } from 'commander';
import { operatorCommand } from '../options/operator-command.js';
import { renderTable } from '../output/text-table.js';
import { UsageError } from '../usage-error.js';

/** Credentials the org refused: a configuration problem (exit 2), not a passing failure. */
const CONFIG_AUTH_CODES = new Set([
  'token-rejected',
  'static-token-expired',
  'private-key-unreadable',
  'private-key-invalid',
  'auth-misconfigured',
]);

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
  // tokenSourceFromConfig checks this too; checked before the Salesforce client loads, missing
  // credentials (exit 2) are refused at once.
  requireSalesforceAuth(config);
  const { SalesforceClient } = await import('@flow-dispatcher/shared');
  const { tokenSourceFromConfig } = await import('@flow-dispatcher/worker');
  const client = new SalesforceClient({
    tokens: tokenSourceFromConfig(config),
    apiVersion: config.salesforce.apiVersion,
    requestTimeoutMs: config.salesforce.requestTimeoutMs,
    connectTimeoutMs: config.salesforce.connectTimeoutMs,
    maxResponseBytes: config.salesforce.maxResponseBytes,
    connections: 1,
    describeTtlMs: 0,
  });
  try {
    const described = await client.describeFlow(flow).catch((err: unknown) => {
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
  } finally {
    await client.close();
  }
}

function explain(err: unknown, flow: string): Error {
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'flow-missing') {
    return new Error(
      `flow ${flow} was not found: it does not exist, is not active, or is not shared with the API user`,
      { cause: err },
    );
  }
  if (typeof code === 'string' && CONFIG_AUTH_CODES.has(code)) {
    return new UsageError(`Salesforce refused the configured credentials: ${message}`, {
      cause: err,
    });
  }
  return new Error(`describe ${flow} failed: ${message}`, { cause: err });
}
