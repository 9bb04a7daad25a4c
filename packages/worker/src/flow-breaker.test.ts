import { describe, expect, it } from 'vitest';
import { FlowBreaker } from './flow-breaker.js';

const BAD = 'INVALID_INPUT|Invalid input parameter: signup_id';

describe('FlowBreaker', () => {
  it('trips after a few calls that failed alike and carried enough triggers', () => {
    const breaker = new FlowBreaker({ calls: 3, triggers: 10 });
    expect(breaker.observe('F', { signature: BAD, succeeded: false, fresh: 200 })).toBe(false);
    expect(breaker.observe('F', { signature: BAD, succeeded: false, fresh: 200 })).toBe(false);
    expect(breaker.observe('F', { signature: BAD, succeeded: false, fresh: 200 })).toBe(true);
    // Tripped once: it starts over.
    expect(breaker.observe('F', { signature: BAD, succeeded: false, fresh: 200 })).toBe(false);
  });

  it('needs enough triggers too: a few lone bad triggers of a quiet flow do not trip it', () => {
    const breaker = new FlowBreaker({ calls: 3, triggers: 10 });
    for (let i = 0; i < 9; i++)
      expect(breaker.observe('F', { signature: BAD, succeeded: false, fresh: 1 })).toBe(false);
    expect(breaker.observe('F', { signature: BAD, succeeded: false, fresh: 1 })).toBe(true);
  });

  it('never trips on per-trigger faults mixed with successes', () => {
    const breaker = new FlowBreaker({ calls: 3, triggers: 10 });
    for (let i = 0; i < 100; i++) {
      expect(breaker.observe('F', { signature: BAD, succeeded: false, fresh: 50 })).toBe(false);
      expect(breaker.observe('F', { signature: undefined, succeeded: true, fresh: 0 })).toBe(false);
    }
  });

  it('starts over on another signature or mixed errors, and ignores evidence seen before', () => {
    const breaker = new FlowBreaker({ calls: 3, triggers: 10 });
    breaker.observe('F', { signature: BAD, succeeded: false, fresh: 100 });
    breaker.observe('F', { signature: BAD, succeeded: false, fresh: 100 });
    expect(breaker.observe('F', { signature: 'OTHER|x', succeeded: false, fresh: 100 })).toBe(
      false,
    );
    breaker.observe('F', { signature: 'OTHER|x', succeeded: false, fresh: 100 });
    // The halves of a call refused whole: the same triggers again, no new evidence.
    expect(breaker.observe('F', { signature: 'OTHER|x', succeeded: false, fresh: 0 })).toBe(false);
    breaker.observe('F', { signature: undefined, succeeded: false, fresh: 0 });
    expect(breaker.observe('F', { signature: 'OTHER|x', succeeded: false, fresh: 100 })).toBe(
      false,
    );
    // Flows are counted apart.
    expect(breaker.observe('G', { signature: BAD, succeeded: false, fresh: 100 })).toBe(false);
  });
});
