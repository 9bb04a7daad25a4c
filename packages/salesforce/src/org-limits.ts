import { z } from 'zod';
import type { OrgLimits } from './types.js';

/** `GET .../limits` → `{"DailyApiRequests":{"Max":15000,"Remaining":14998}, ...}` (REST API guide). */
const count = z.number().int().nonnegative();
const limitsSchema = z.object({
  DailyApiRequests: z.object({ Max: count, Remaining: z.number().int() }),
});

/** The limits the dispatcher paces with, or `undefined` when `body` (parsed JSON) lacks them. */
export function parseOrgLimits(body: unknown): OrgLimits | undefined {
  const parsed = limitsSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { Max, Remaining } = parsed.data.DailyApiRequests;
  return { dailyApiRequests: { max: Max, remaining: Remaining } };
}
