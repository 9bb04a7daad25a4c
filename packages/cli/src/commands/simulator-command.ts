import { runSimulatorCli } from '@flow-dispatcher/simulator';

/** `flow-dispatcher simulator [flags]`: the Salesforce look-alike, until SIGTERM. */
export async function simulatorCommand(args: string[]): Promise<void> {
  await runSimulatorCli(args, process.env);
}
