import { defaults } from '@flow-dispatcher/shared/config';
import { describe, expect, it } from 'vitest';
import { renderStats } from './render-stats.js';
import { limitsView, type StatsSnapshot } from './stats-snapshot.js';
import { statsWindow, sumBuckets } from './stats-window.js';

describe('stats window', () => {
  it('covers the last complete buckets, leaving out the one still filling', () => {
    // 12:00:31.5: the bucket 12:00:30 is filling; 12:00:20 is complete (ended 1.5 s ago but
    // workers flush every second, so it is only counted 2 s after its end).
    const now = Date.parse('2025-06-01T12:00:31.500Z');
    const w = statsWindow(now, 60, 10, defaults.statsSettleMs);
    const sec = (iso: string) => Date.parse(iso) / 1_000;
    expect(w.toSec).toBe(sec('2025-06-01T12:00:20Z'));
    expect(w.fromSec).toBe(sec('2025-06-01T11:59:20Z'));
    expect(w.buckets).toHaveLength(6);
    expect(statsWindow(now + 1_000, 60, 10, defaults.statsSettleMs).toSec).toBe(
      sec('2025-06-01T12:00:30Z'),
    );
  });

  it('sums counters and status fields', () => {
    expect(
      sumBuckets([
        { succeeded: '10', calls: '2', inputs: '10', 'status:200': '2' },
        {},
        {
          succeeded: '5',
          dead: '1',
          retried: '2',
          calls: '2',
          inputs: '8',
          'status:400': '1',
          'status:200': '1',
          junk: 'x',
        },
      ]),
    ).toEqual({
      succeeded: 15,
      retried: 2,
      dead: 1,
      calls: 4,
      inputs: 18,
      statuses: { '200': 3, '400': 1 },
    });
  });
});

describe('renderStats', () => {
  const snapshot: StatsSnapshot = {
    at: '2025-06-01T12:00:31.500Z',
    window: { from: '2025-06-01T11:59:20.000Z', to: '2025-06-01T12:00:20.000Z', seconds: 60 },
    backlog: {
      triggers: 1_200,
      chunks: { waiting: 2, active: 1, delayed: 0, prioritized: 0, failed: 0 },
    },
    rates: { succeeded: 100, retried: 0.5, dead: 0.1, calls: 0.5, inputsPerCall: 200 },
    totals: {
      succeeded: 6_000,
      retried: 30,
      dead: 6,
      calls: 30,
      inputs: 6_000,
      statuses: { '200': 29, '400': 1 },
    },
    limits: limitsView({
      apiUsed: '500',
      apiMax: '100000',
      budgetCalls: '49500',
      concurrencyLimit: '25',
      inflight: '3',
    }),
    pausedAll: false,
    pausedFlows: ['Welcome_SMS'],
    heldAll: null,
    heldFlows: [
      { flow: 'Order_Confirmation_Email', reason: 'refused', code: 'INSUFFICIENT_ACCESS' },
    ],
    openCircuits: ['Order_Confirmation_Email'],
    deadLetters: 6,
    flows: [
      {
        flow: 'Welcome_SMS',
        paused: true,
        held: null,
        pace: { perSecond: 100, windowMs: 1_000 },
        circuitOpen: false,
        pending: 1_200,
        jobs: { waiting: 2, active: 1, delayed: 0, prioritized: 0, failed: 0 },
      },
    ],
  };

  it('shows every figure an operator asks for, "-" where nothing is known', () => {
    const text = renderStats(snapshot);
    expect(text).toContain('1,200 trigger(s) pending');
    expect(text).toContain('succeeded 100, retried 0.5, dead 0.1');
    expect(text).toContain('inputs per call 200');
    expect(text).toContain('200 ×29, 400 ×1');
    expect(text).toContain(
      'API usage 500 / 100,000 (0.5%), fleet budget 49,500 call(s) (49,000 left), concurrency 3 in flight of 25',
    );
    expect(text).toMatch(/paused\s+Welcome_SMS/);
    expect(text).toMatch(/held\s+Order_Confirmation_Email \(refused INSUFFICIENT_ACCESS\)/);
    expect(text).toMatch(/dead letters\s+6/);
    expect(text).toMatch(/paced\s+Welcome_SMS 100\/s/);
    expect(text).toMatch(/Welcome_SMS .* yes +no +100\/s/);
    const unpaced = renderStats({
      ...snapshot,
      flows: snapshot.flows.map((f) => ({ ...f, pace: null })),
    });
    expect(unpaced).toMatch(/paced\s+none/);
    const empty = renderStats({ ...snapshot, limits: limitsView({}) });
    expect(empty).toContain(
      'API usage - / -, fleet budget - call(s), concurrency - in flight of -',
    );
  });
});
