import { describe, expect, it } from 'vitest';
import { budgetCap, callsLeft, lingerFactor } from './budget.js';

describe('daily budget', () => {
  it('allows the share of the allocation minus what the org used and what is in flight', () => {
    const usage = { used: 500, max: 1_000 };
    expect(budgetCap(usage, 0.7)).toBe(700);
    expect(callsLeft(usage, 0.7, 0)).toBe(200);
    expect(callsLeft(usage, 0.7, 5)).toBe(195);
    expect(callsLeft({ used: 710, max: 1_000 }, 0.7, 0)).toBe(0);
  });

  it('stretches the linger time as the budget runs out', () => {
    expect(lingerFactor(undefined, 0.5)).toBe(1);
    expect(lingerFactor({ used: 0, max: 1_000 }, 0.5)).toBe(1);
    expect(lingerFactor({ used: 250, max: 1_000 }, 0.5)).toBe(1);
    expect(lingerFactor({ used: 375, max: 1_000 }, 0.5)).toBe(2);
    expect(lingerFactor({ used: 475, max: 1_000 }, 0.5)).toBe(10);
    expect(lingerFactor({ used: 600, max: 1_000 }, 0.5)).toBe(10);
  });
});
