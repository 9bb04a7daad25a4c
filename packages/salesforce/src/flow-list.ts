import { z } from 'zod';

/**
 * `GET .../actions/custom/flow` → `{"actions":[{"label","name","type":"FLOW","url"}]}` (REST API
 * guide). Only the names are kept.
 */
const flowListSchema = z.object({
  actions: z.array(z.looseObject({ name: z.string().min(1) })),
});

/** The flow API names in a list answer, or `undefined` when `body` (parsed JSON) is not one. */
export function parseFlowList(body: unknown): string[] | undefined {
  const parsed = flowListSchema.safeParse(body);
  return parsed.success ? parsed.data.actions.map((action) => action.name) : undefined;
}
