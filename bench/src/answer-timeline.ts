/** Answers per time bucket from a start time: how a run ramped up, held and tailed off. */
export interface AnswerTimeline {
  /** Epoch ms of the first bucket's start. */
  fromAt: number;
  bucketMs: number;
  /** Triggers answered in each bucket. */
  counts: number[];
  /** Most triggers answered in any 1 s window (sliding by one bucket), per second. */
  peakPerSecond: number;
}

/** Buckets answer times (pure). Answers before `fromAt` fall in the first bucket. */
export function answerTimeline(
  answeredAt: Float64Array,
  fromAt: number,
  bucketMs = 100,
): AnswerTimeline {
  let last = fromAt;
  for (const at of answeredAt) if (at > last) last = at;
  const counts = new Array<number>(Math.floor((last - fromAt) / bucketMs) + 1).fill(0);
  for (const at of answeredAt) {
    const i = Math.max(0, Math.floor((at - fromAt) / bucketMs));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const perWindow = Math.max(1, Math.round(1000 / bucketMs));
  let peak = 0;
  let sum = 0;
  counts.forEach((count, i) => {
    sum += count - (i >= perWindow ? (counts[i - perWindow] ?? 0) : 0);
    if (i >= perWindow - 1 || i === counts.length - 1) peak = Math.max(peak, sum);
  });
  return { fromAt, bucketMs, counts, peakPerSecond: (peak * 1000) / (perWindow * bucketMs) };
}
