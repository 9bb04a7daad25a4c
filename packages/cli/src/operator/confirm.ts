import { createInterface } from 'node:readline/promises';
import { UsageError } from '../usage-error.js';

/**
 * Asks `question` on the terminal and resolves true for "y" or "yes". Without a terminal on stdin
 * there is nobody to ask: a UsageError tells the caller to pass `--yes` (exit 2), so a script never
 * deletes or replays anything by accident.
 */
export async function confirmOrRefuse(question: string, refusal: string): Promise<boolean> {
  if (process.stdin.isTTY !== true) throw new UsageError(refusal);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
