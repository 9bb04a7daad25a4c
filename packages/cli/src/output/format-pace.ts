import type { FlowPace } from '@flow-dispatcher/producer';
import { formatDuration } from './format-number.js';

const upToOneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const formatRate = (n: number) => upToOneDecimal.format(n);

/** A pace as an operator wrote it, roughly: `100/s`, `500/min`, `20/hour`, with a window other than 1 s. */
export function formatPace(pace: FlowPace | null): string {
  if (pace === null) return '-';
  const { perSecond, windowMs } = pace;
  const rate =
    perSecond >= 10
      ? `${formatRate(perSecond)}/s`
      : perSecond * 60 >= 10
        ? `${formatRate(perSecond * 60)}/min`
        : `${formatRate(perSecond * 3_600)}/hour`;
  return windowMs === 1_000 ? rate : `${rate} over ${formatDuration(windowMs)}`;
}
