import type { FlowInput } from './chunk-job.js';
import { isValidInputName } from './trigger-input.js';

/**
 * Changes made to each replayed trigger's input, to fix what its sender got wrong (an input the
 * flow does not have, an input under the wrong name) without touching the letters one by one.
 */
export interface InputEdits {
  /** Inputs left out. */
  drop?: readonly string[];
  /** Inputs sent under another name: `{ OLD: 'NEW' }` sends the value of OLD as NEW. */
  rename?: Readonly<Record<string, string>>;
}

/** The one input every trigger must keep as it is: it names the person. */
const KEPT = 'IndividualId';

/**
 * The first problem of `edits` (pure), or undefined when they can be applied: every name an input
 * name, none of them IndividualId, no rename to the same name, and every name used once across
 * all edits (so the result does not depend on their order).
 */
export function checkInputEdits(
  edits: InputEdits,
  /** How the two kinds of edit are called in messages (the CLI names its flags). */
  labels: { drop: string; rename: string } = { drop: 'drop', rename: 'rename' },
): string | undefined {
  const seen = new Set<string>();
  const use = (name: unknown, role: string): string | undefined => {
    if (typeof name !== 'string' || name === '') return `${role} needs an input name`;
    if (!isValidInputName(name)) {
      return `${role} expects an input name (a letter, then letters, digits or underscores), got ${JSON.stringify(name)}`;
    }
    if (name === KEPT) return `${role}: ${KEPT} cannot be dropped or renamed (it names the person)`;
    if (seen.has(name)) return `input ${name} is named twice in the edits`;
    seen.add(name);
    return undefined;
  };
  for (const name of edits.drop ?? []) {
    const problem = use(name, labels.drop);
    if (problem) return problem;
  }
  for (const [from, to] of Object.entries(edits.rename ?? {})) {
    if (from === to) return `${labels.rename}: renaming ${from} to itself changes nothing`;
    const problem = use(from, labels.rename) ?? use(to, labels.rename);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * `input` with `edits` applied (pure; `edits` already checked), keeping the order of the other
 * inputs; or the reason it cannot be: an input that has both a renamed name and its new name
 * (which value is right is the operator's call, not ours).
 */
export function applyInputEdits(
  input: FlowInput,
  edits: InputEdits,
): { input: FlowInput } | { conflict: string } {
  const drop = new Set(edits.drop ?? []);
  const rename = new Map(Object.entries(edits.rename ?? {}));
  for (const [from, to] of rename) {
    if (Object.hasOwn(input, from) && Object.hasOwn(input, to)) {
      return { conflict: `it has both ${from} and ${to}` };
    }
  }
  const edited: FlowInput = {};
  for (const [name, value] of Object.entries(input)) {
    if (drop.has(name)) continue;
    edited[rename.get(name) ?? name] = value;
  }
  return { input: edited };
}
