/** Numbers as an operator reads them (pure). */

const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

/** 12.34 → "12.3". */
export function formatOneDecimal(n: number): string {
  return oneDecimal.format(n);
}

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return whole.format(n);
}

/** A rate per second: one decimal below 100, whole above ("12.5", "4,100"). */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  return perSecond < 100 ? oneDecimal.format(perSecond) : whole.format(perSecond);
}

/** 83_000 → "1m 23s"; 4_500 → "4.5s"; 90 → "90ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${oneDecimal.format(ms / 1_000)}s`;
  const totalSeconds = Math.round(ms / 1_000);
  const hours = Math.floor(totalSeconds / 3_600);
  const minutes = Math.floor((totalSeconds % 3_600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${seconds}s`;
}
