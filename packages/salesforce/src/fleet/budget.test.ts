import { describe, expect, it } from 'vitest';
import { budgetCap, callsLeft, lingerFactor, nearBudgetEdge } from './budget.js';

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

  it('is near the edge from four rounds of the whole concurrency before the cap', () => {
    // cap 700; one call kept back for GET /limits; 4 × 25 = 100 calls of margin.
    expect(nearBudgetEdge({ used: 598, max: 1_000 }, 0.7, 25)).toBe(false);
    expect(nearBudgetEdge({ used: 599, max: 1_000 }, 0.7, 25)).toBe(true);
    expect(nearBudgetEdge({ used: 700, max: 1_000 }, 0.7, 25)).toBe(true);
    expect(nearBudgetEdge({ used: 950, max: 1_000 }, 0.7, 25)).toBe(true);
    // A small org: the margin, not the share, decides.
    expect(nearBudgetEdge({ used: 0, max: 100 }, 1, 25)).toBe(true);
    expect(nearBudgetEdge({ used: 0, max: 15_000 }, 0.01, 40)).toBe(true);
    expect(nearBudgetEdge({ used: 0, max: 15_000 }, 0.01, 25)).toBe(false);
  });
});
