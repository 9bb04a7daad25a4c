import { checkInputEdits, type InputEdits } from '@flow-dispatcher/shared/config';
import { UsageError } from '../usage-error.js';

/** `dlq replay`'s flags that change what is sent: repeatable, in the order given. */
export interface InputEditOptions {
  dropInput?: string[];
  renameInput?: string[];
}

/** Commander's collector for a repeatable flag. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The edits the flags ask for (pure), or undefined for none. A UsageError (exit 2, one line) for
 * an empty name, a rename that is not OLD=NEW, IndividualId, or a name used twice.
 */
export function inputEdits(options: InputEditOptions): InputEdits | undefined {
  const drop = options.dropInput ?? [];
  const renames = options.renameInput ?? [];
  if (drop.length === 0 && renames.length === 0) return undefined;
  const rename: Record<string, string> = Object.create(null);
  for (const pair of renames) {
    const at = pair.indexOf('=');
    const from = at < 0 ? '' : pair.slice(0, at);
    const to = at < 0 ? '' : pair.slice(at + 1);
    if (from === '' || to === '') {
      throw new UsageError(`--rename-input expects OLD=NEW, got ${JSON.stringify(pair)}`);
    }
    if (Object.hasOwn(rename, from)) {
      throw new UsageError(`--rename-input: input ${from} is renamed twice`);
    }
    rename[from] = to;
  }
  const edits: InputEdits = { drop, rename };
  const problem = checkInputEdits(edits, { drop: '--drop-input', rename: '--rename-input' });
  if (problem) throw new UsageError(problem);
  return edits;
}

/** The edits in words, for the confirmation and the summary: "dropping input A, renaming B to C". */
export function describeInputEdits(edits: InputEdits): string {
  const parts: string[] = [];
  const drop = edits.drop ?? [];
  if (drop.length > 0) parts.push(`dropping input${drop.length > 1 ? 's' : ''} ${drop.join(', ')}`);
  for (const [from, to] of Object.entries(edits.rename ?? {}))
    parts.push(`renaming ${from} to ${to}`);
  return parts.join(', ');
}
