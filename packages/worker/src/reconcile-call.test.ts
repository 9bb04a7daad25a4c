import type { CallVerdict } from '@flow-dispatcher/salesforce';
import type { TriggerRecord } from '@flow-dispatcher/shared';
import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from './backoff.js';
import { reconcileCall, type SentTrigger } from './reconcile-call.js';

const policy: RetryPolicy = {
  maxAttempts: 5,
  maxAgeMs: 3_600_000,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
};
const NOW = 1_700_000_000_000;
const fresh: SentTrigger = { attempts: 0, enqueuedAt: NOW - 1_000 };
const half = () => 0.5;

function settle(sent: readonly SentTrigger[], verdict: CallVerdict): TriggerRecord[] {
  const plan = reconcileCall(sent, { verdict }, policy, NOW, half);
  if (plan.kind !== 'settle') throw new Error(`expected settle, got ${plan.kind}`);
  return plan.records;
}

describe('reconcileCall', () => {
  it('settles each input of a partial failure on its own', () => {
    const records = settle([fresh, fresh, fresh, fresh], {
      kind: 'results',
      status: 400,
      inputs: [
        { kind: 'succeeded', outputValues: { Flow__InterviewGuid: 'g1' } },
        {
          kind: 'permanent',
          error: { statusCode: 'UNKNOWN_EXCEPTION', message: 'flow fault', fields: [] },
        },
        {
          kind: 'transient',
          error: { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'locked', fields: [] },
        },
        {
          kind: 'governor-limit',
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'Too many SOQL queries: 101',
            fields: [],
          },
        },
      ],
    });
    expect(records[0]).toEqual({ s: 'ok', a: 1, t: NOW, o: { Flow__InterviewGuid: 'g1' } });
    expect(records[1]).toEqual({
      s: 'dead',
      a: 1,
      t: NOW,
      e: { code: 'UNKNOWN_EXCEPTION', message: 'flow fault', status: 400 },
    });
    // attempt 1, equal jitter at 0.5: 500 + 250
    expect(records[2]).toEqual({
      s: 'retry',
      a: 1,
      t: NOW,
      n: NOW + 750,
      e: { code: 'UNABLE_TO_LOCK_ROW', message: 'locked', status: 400 },
    });
    expect(records[3]?.s).toBe('retry');
  });

  it('dead-letters a transient failure at maxAttempts and past maxAge', () => {
    const transient: CallVerdict = {
      kind: 'results',
      status: 400,
      inputs: [
        {
          kind: 'transient',
          error: { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'locked', fields: [] },
        },
        {
          kind: 'transient',
          error: { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'locked', fields: [] },
        },
      ],
    };
    const [last, old] = settle(
      [
        { attempts: 4, enqueuedAt: NOW },
        { attempts: 0, enqueuedAt: NOW - 3_600_000 },
      ],
      transient,
    );
    expect(last).toMatchObject({ s: 'dead', a: 5, e: { code: 'UNABLE_TO_LOCK_ROW' } });
    expect(last?.s === 'dead' && last.e.message).toContain('gave up after 5 attempts');
    expect(old).toMatchObject({ s: 'dead', a: 1 });
    expect(old?.s === 'dead' && old.e.message).toContain('older than 60 min');
  });

  it.each([
    [{ kind: 'overloaded', status: 503, message: 'down' }, 'SERVER_UNAVAILABLE', false],
    [{ kind: 'overloaded', status: 500, message: 'unknown exception' }, 'HTTP_500', true],
    [{ kind: 'overloaded', status: 502, message: 'bad gateway' }, 'HTTP_502', true],
    [{ kind: 'overloaded', status: 504, message: 'gateway timeout' }, 'HTTP_504', true],
    [{ kind: 'timeout', sent: true, message: 'no answer' }, 'TIMEOUT', true],
    [{ kind: 'timeout', sent: false, message: 'connect timeout' }, 'TIMEOUT', false],
    [{ kind: 'connection-failed', sent: true, message: 'reset' }, 'CONNECTION_FAILED', true],
    [{ kind: 'connection-failed', sent: false, message: 'refused' }, 'CONNECTION_FAILED', false],
    [{ kind: 'malformed-response', status: 200, message: 'not json' }, 'MALFORMED_RESPONSE', true],
    [{ kind: 'auth-misconfigured', message: 'not valid for REST' }, 'AUTH_MISCONFIGURED', false],
    [{ kind: 'auth-expired', message: 'expired' }, 'INVALID_SESSION_ID', false],
    [
      { kind: 'daily-limit', message: 'TotalRequests Limit exceeded.' },
      'REQUEST_LIMIT_EXCEEDED',
      false,
    ],
    [
      { kind: 'concurrency-limit', message: 'ConcurrentPerOrgLongTxn Limit exceeded.' },
      'REQUEST_LIMIT_EXCEEDED',
      false,
    ],
    [{ kind: 'rate-limited', retryAfterMs: 5_000, message: 'slow down' }, 'HTTP_429', false],
    [
      {
        kind: 'refused',
        status: 403,
        errorCode: 'INSUFFICIENT_ACCESS',
        message: 'INSUFFICIENT_ACCESS: insufficient access rights on entity',
        scope: 'flow',
      },
      'INSUFFICIENT_ACCESS',
      false,
    ],
  ] as [CallVerdict, string, boolean][])(
    'retries every input of %o (code %s, counted %s)',
    (verdict, code, counted) => {
      const records = settle([fresh, { attempts: 2, enqueuedAt: NOW }], verdict);
      expect(records.map((r) => r.s)).toEqual(['retry', 'retry']);
      expect(records.map((r) => (r.s === 'retry' ? r.a : -1))).toEqual(counted ? [1, 3] : [0, 2]);
      for (const record of records) {
        expect(record.s === 'retry' && record.e.code).toBe(code);
        expect(record.s === 'retry' && record.n).toBeGreaterThan(NOW);
      }
    },
  );

  it('never dead-letters an uncounted failure, however many attempts came before', () => {
    const records = settle([{ attempts: 99, enqueuedAt: NOW - 86_400_000 * 30 }], {
      kind: 'daily-limit',
      message: 'TotalRequests Limit exceeded.',
    });
    expect(records[0]).toMatchObject({ s: 'retry', a: 99 });
  });

  it('honours Retry-After as the least delay', () => {
    const [record] = settle([fresh], {
      kind: 'rate-limited',
      retryAfterMs: 30_000,
      message: '429',
    });
    expect(record?.s === 'retry' && record.n).toBe(NOW + 30_000);
  });

  it('keeps the triggers of a missing flow waiting, with a clear message', () => {
    const records = settle([fresh, { attempts: 9, enqueuedAt: NOW - 86_400_000 }], {
      kind: 'flow-missing',
      message: 'The requested resource does not exist',
    });
    expect(records.map((r) => r.s === 'retry' && r.a)).toEqual([0, 9]);
    for (const record of records) {
      expect(record).toMatchObject({ s: 'retry', e: { code: 'NOT_FOUND' } });
      expect(record.s === 'retry' && record.e.message).toMatch(/not active, or is not shared/);
      expect(record.s === 'retry' && record.n).toBeGreaterThanOrEqual(NOW + 5_000);
    }
  });

  it('splits a call refused as a whole, and dead-letters a lone refused input', () => {
    const rejected: CallVerdict = {
      kind: 'rejected',
      status: 400,
      errorCode: 'INVALID_INPUT',
      message: 'Invalid input parameter: Foo',
    };
    expect(
      reconcileCall([fresh, fresh, fresh], { verdict: rejected, status: 400 }, policy, NOW),
    ).toEqual({
      kind: 'split',
      error: { code: 'INVALID_INPUT', message: 'Invalid input parameter: Foo', status: 400 },
    });
    expect(settle([fresh], rejected)).toEqual([
      {
        s: 'dead',
        a: 1,
        t: NOW,
        e: { code: 'INVALID_INPUT', message: 'Invalid input parameter: Foo', status: 400 },
      },
    ]);
  });

  it('keeps the triggers of a call that failed alike for a retry, counted, when asked', () => {
    const verdict: CallVerdict = {
      kind: 'results',
      status: 400,
      inputs: [1, 2].map(() => ({
        kind: 'permanent' as const,
        error: { statusCode: 'INVALID_INPUT', message: 'Invalid input parameter: x', fields: [] },
      })),
    };
    const plan = reconcileCall([fresh, fresh], { verdict }, policy, NOW, half, {
      keepForRetry: true,
    });
    expect(plan).toMatchObject({
      kind: 'settle',
      records: [
        { s: 'retry', a: 1, e: { code: 'INVALID_INPUT' } },
        { s: 'retry', a: 1, e: { code: 'INVALID_INPUT' } },
      ],
    });
    // Still bounded by the attempts: kept, but not for ever.
    const worn = { attempts: policy.maxAttempts - 1, enqueuedAt: NOW - 1_000 };
    const last = reconcileCall([worn, worn], { verdict }, policy, NOW, half, {
      keepForRetry: true,
    });
    expect(last).toMatchObject({ kind: 'settle', records: [{ s: 'dead' }, { s: 'dead' }] });
  });

  it('holds refused calls without spending attempts', () => {
    const records = settle([fresh], {
      kind: 'refused',
      status: 403,
      errorCode: 'INSUFFICIENT_ACCESS',
      message: 'insufficient access rights on entity',
      scope: 'flow',
    });
    expect(records).toMatchObject([{ s: 'retry', a: 0, e: { code: 'INSUFFICIENT_ACCESS' } }]);
  });
});
