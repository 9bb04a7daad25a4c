/**
 * The pure decisions of group commit: whether a request joins the open chunk, and which receipts
 * of a written chunk belong to which request.
 */

/**
 * Whether a request of `adding` triggers joins a chunk holding `current` (soft cap `maxChunk`).
 * An empty chunk takes any request, however large: a request is never split across chunks, so
 * it is stored or refused whole.
 */
export function fitsInChunk(current: number, adding: number, maxChunk: number): boolean {
  return current === 0 || current + adding <= maxChunk;
}

/**
 * Cuts a chunk's results (in chunk order) back into one run per request, `sizes[i]` long, in
 * request order. Throws when the counts do not add up: that would hand someone else's ids out.
 */
export function splitByRequest<T>(results: readonly T[], sizes: readonly number[]): T[][] {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total !== results.length) {
    throw new Error(`a chunk of ${total} triggers came back with ${results.length} receipts`);
  }
  const runs: T[][] = [];
  let offset = 0;
  for (const size of sizes) {
    runs.push(results.slice(offset, offset + size));
    offset += size;
  }
  return runs;
}
