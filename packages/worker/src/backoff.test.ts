import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff.js';

const policy = { maxAttempts: 10, maxAgeMs: 1e9, retryBaseMs: 1_000, retryMaxMs: 60_000 };

describe('retryDelayMs', () => {
  it('doubles per attempt between half and all of the ceiling', () => {
    expect(retryDelayMs(1, policy, () => 0)).toBe(500);
    expect(retryDelayMs(1, policy, () => 1)).toBe(1_000);
    expect(retryDelayMs(3, policy, () => 0)).toBe(2_000);
    expect(retryDelayMs(3, policy, () => 1)).toBe(4_000);
  });

  it('caps at retryMaxMs even for huge attempt counts', () => {
    expect(retryDelayMs(500, policy, () => 1)).toBe(60_000);
    expect(retryDelayMs(500, policy, () => 0)).toBe(30_000);
  });

  it('never goes below the floor', () => {
    expect(retryDelayMs(1, policy, () => 0, 45_000)).toBe(45_000);
  });
});
