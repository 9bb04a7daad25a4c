import { describe, expect, it } from 'vitest';
import { sampleLatencyMs } from './latency.js';
import { createRandom } from './seeded-random.js';

function samples(model: Parameters<typeof sampleLatencyMs>[0], n = 20_000, inputs = 1): number[] {
  const random = createRandom(3);
  return Array.from({ length: n }, () => sampleLatencyMs(model, inputs, random)).sort(
    (a, b) => a - b,
  );
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN;
}

describe('sampleLatencyMs', () => {
  it('fixed, plus perInputMs per input', () => {
    const random = createRandom(1);
    expect(sampleLatencyMs({ kind: 'fixed', ms: 20 }, 200, random)).toBe(20);
    expect(sampleLatencyMs({ kind: 'fixed', ms: 20, perInputMs: 0.5 }, 200, random)).toBe(120);
  });

  it('uniform stays in its bounds', () => {
    const sorted = samples({ kind: 'uniform', minMs: 10, maxMs: 30 });
    expect(sorted[0]).toBeGreaterThanOrEqual(10);
    expect(sorted.at(-1)).toBeLessThan(30);
    expect(quantile(sorted, 0.5)).toBeCloseTo(20, 0);
  });

  it('lognormal matches its median and p99', () => {
    const sorted = samples({ kind: 'lognormal', medianMs: 50, p99Ms: 400 });
    expect(quantile(sorted, 0.5)).toBeGreaterThan(45);
    expect(quantile(sorted, 0.5)).toBeLessThan(55);
    expect(quantile(sorted, 0.99)).toBeGreaterThan(330);
    expect(quantile(sorted, 0.99)).toBeLessThan(480);
  });

  it('spikes add their ms at about their rate', () => {
    const sorted = samples({ kind: 'fixed', ms: 10, spikes: { rate: 0.1, ms: 1000 } });
    const spiked = sorted.filter((ms) => ms === 1010).length / sorted.length;
    expect(spiked).toBeGreaterThan(0.08);
    expect(spiked).toBeLessThan(0.12);
  });

  it('is reproducible for a seed', () => {
    const model = { kind: 'lognormal', medianMs: 20, p99Ms: 200 } as const;
    const a = createRandom(9);
    const b = createRandom(9);
    const xs = Array.from({ length: 10 }, () => sampleLatencyMs(model, 1, a));
    const ys = Array.from({ length: 10 }, () => sampleLatencyMs(model, 1, b));
    expect(xs).toEqual(ys);
  });
});
