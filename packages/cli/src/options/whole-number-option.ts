import { UsageError } from '../usage-error.js';

/** Parses a whole number within [min, max] for `option` (pure); a UsageError otherwise. */
export function parseWholeNumber(value: string, option: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UsageError(
      `${option} expects a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}
