import type { Command } from 'commander';

/**
 * Adds a subcommand whose usage errors are one line on stderr, e.g.
 * `flow-dispatcher dlq list: unknown option '--flw' (see flow-dispatcher dlq list --help)`:
 * scripts and people both read the first line, so it carries the reason and where to look.
 */
export function operatorCommand(parent: Command, nameAndArgs: string): Command {
  const name = nameAndArgs.split(' ')[0] ?? nameAndArgs;
  const path = [...ancestors(parent), name].join(' ');
  return parent
    .command(nameAndArgs)
    .showHelpAfterError(false)
    .configureOutput({
      outputError: (text, write) => {
        const reason = text
          .replace(/^error:\s*/i, '')
          .replace(/\s*\n\s*/g, ' ')
          .trim();
        write(`${path}: ${reason} (see ${path} --help)\n`);
      },
    });
}

function ancestors(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names;
}
