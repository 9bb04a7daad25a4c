import { z } from 'zod';

/**
 * `POST .../composite/batch` answer (REST API guide "Batch Response Body"):
 * `{"hasErrors":bool,"results":[{"statusCode":…,"result":…}]}`. Not used by the client today:
 * batching several flows in one HTTP call saves round-trips but not API quota (docs/salesforce-api.md#composite-batch), and
 * no real example of actions inside a batch exists (UNCONFIRMED). Kept so the shape is checked
 * against the fixture if the option is ever taken.
 */
export interface CompositeBatchResponse {
  hasErrors: boolean;
  results: { statusCode: number; result: unknown }[];
}

const compositeBatchSchema = z.object({
  hasErrors: z.boolean(),
  results: z.array(
    z.object({
      statusCode: z.number().int(),
      result: z
        .unknown()
        .optional()
        .transform((v) => (v === undefined ? null : v)),
    }),
  ),
});

/** The batch answer, or `undefined` when `body` (parsed JSON) is not one. */
export function parseCompositeBatchResponse(body: unknown): CompositeBatchResponse | undefined {
  const parsed = compositeBatchSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}
