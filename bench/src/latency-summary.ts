/** p50/p99/max of enqueue → answer times, in ms. */
export interface LatencySummary {
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Nearest-rank quantile of ascending values (pure). */
export function quantile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? null;
}

/** Summarises latencies (pure; sorts a copy). */
export function summarizeLatencies(values: Float64Array): LatencySummary {
  const sorted = values.slice().sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? null) : null,
    mean: sorted.length > 0 ? sum / sorted.length : null,
  };
}
