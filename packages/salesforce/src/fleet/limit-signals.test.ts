import { describe, expect, it } from 'vitest';
import type { CallVerdict } from '../types.js';
import { limitSignal, pauseMs } from './limit-signals.js';

const ok: CallVerdict = {
  kind: 'results',
  status: 200,
  inputs: [{ kind: 'succeeded', outputValues: null }],
};

describe('limitSignal', () => {
  it.each([
    ['a fast answer grows the limit', ok, 300, { increase: true, decrease: false, healthy: true }],
    [
      'an answer nearing the 20 s line shrinks it',
      ok,
      16_000,
      { increase: false, decrease: true, healthy: true },
    ],
    [
      '503 shrinks it and pauses the org',
      { kind: 'overloaded', status: 503, retryAfterMs: 2_000, message: '' },
      50,
      { decrease: true, pause: { cause: 'overloaded', minMs: 2_000 } },
    ],
    [
      '429 pauses for Retry-After',
      { kind: 'rate-limited', retryAfterMs: 7_000, message: '' },
      50,
      { decrease: true, pause: { cause: 'rate-limited', minMs: 7_000 } },
    ],
    [
      'ConcurrentPerOrgLongTxn shrinks and pauses',
      { kind: 'concurrency-limit', message: '' },
      50,
      { decrease: true, pause: { cause: 'concurrency-limit', minMs: 0 } },
    ],
    [
      'TotalRequests closes the budget',
      { kind: 'daily-limit', message: '' },
      50,
      { budgetExhausted: true, pause: { cause: 'daily-limit', minMs: 0 } },
    ],
    [
      'a timeout after sending shrinks',
      { kind: 'timeout', sent: true, message: '' },
      60_000,
      { decrease: true },
    ],
    [
      'a connect timeout does not',
      { kind: 'timeout', sent: false, message: '' },
      10_000,
      { decrease: false },
    ],
    ['404 opens the circuit', { kind: 'flow-missing', message: '' }, 50, { flowMissing: true }],
  ] as [string, CallVerdict, number, object][])('%s', (_name, verdict, durationMs, expected) => {
    expect(limitSignal(verdict, durationMs)).toMatchObject(expected);
  });
});

describe('pauseMs', () => {
  it('grows from 1 s to a 60 s cap, with jitter, and honours Retry-After', () => {
    expect(pauseMs(1, 0, () => 0)).toBe(500);
    expect(pauseMs(1, 0, () => 1)).toBe(1_000);
    expect(pauseMs(4, 0, () => 1)).toBe(8_000);
    expect(pauseMs(30, 0, () => 1)).toBe(60_000);
    expect(pauseMs(1, 30_000, () => 0)).toBe(30_000);
  });
});
