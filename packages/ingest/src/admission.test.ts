import { describe, expect, it } from 'vitest';
import { refuseAdmission } from './admission.js';
import { sumPending } from './backlog-monitor.js';

const open = {
  closing: false,
  redisReady: true,
  backlog: 10,
  maxBacklog: 100,
  retryAfterSeconds: 1,
};

describe('refuseAdmission', () => {
  it('admits while Redis is up and the backlog under its limit', () => {
    expect(refuseAdmission(open)).toBeUndefined();
    expect(refuseAdmission({ ...open, backlog: 99 })).toBeUndefined();
  });

  it('answers 429 with Retry-After at the backlog limit', () => {
    expect(refuseAdmission({ ...open, backlog: 100 })).toMatchObject({
      status: 429,
      code: 'BACKLOG_FULL',
      retryAfterSeconds: 1,
    });
  });

  it('answers 503 while Redis is away or ingest is closing, before looking at the backlog', () => {
    expect(refuseAdmission({ ...open, redisReady: false, backlog: 1_000 })).toMatchObject({
      status: 503,
      code: 'REDIS_UNAVAILABLE',
    });
    expect(refuseAdmission({ ...open, closing: true })).toMatchObject({
      status: 503,
      code: 'SHUTTING_DOWN',
    });
  });
});

describe('sumPending', () => {
  it('adds the per-flow counters, ignoring negative or junk values', () => {
    expect(sumPending(['3', '4', '-2', 'x', '0'])).toBe(7);
    expect(sumPending([])).toBe(0);
  });
});
