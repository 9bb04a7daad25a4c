import { describe, expect, it } from 'vitest';
import {
  decodeTriggerRecord,
  deriveTriggerState,
  type TriggerRecord,
  toTriggerStatus,
} from './trigger-record.js';

const ok: TriggerRecord = { s: 'ok', a: 1, t: 1, o: { Flow__InterviewGuid: 'g' } };
const retry: TriggerRecord = {
  s: 'retry',
  a: 2,
  n: 5,
  e: { code: 'UNABLE_TO_LOCK_ROW', message: 'locked' },
};
const dead: TriggerRecord = {
  s: 'dead',
  a: 1,
  t: 1,
  e: { code: 'UNKNOWN_EXCEPTION', message: 'fault' },
};

describe('deriveTriggerState', () => {
  it.each([
    [undefined, 'waiting', 'queued'],
    [undefined, 'prioritized', 'queued'],
    [undefined, 'paused', 'queued'],
    [undefined, 'delayed', 'queued'],
    [undefined, 'active', 'dispatching'],
    [undefined, 'failed', 'dead'],
    [undefined, 'completed', undefined],
    [undefined, 'unknown', undefined],
    [undefined, undefined, undefined],
    [retry, 'delayed', 'retrying'],
    [retry, 'active', 'dispatching'],
    [retry, 'unknown', 'retrying'],
    [ok, 'active', 'succeeded'],
    [ok, 'unknown', 'succeeded'],
    [dead, 'completed', 'dead'],
  ] as const)('record %o with job %s is %s', (record, job, state) => {
    expect(deriveTriggerState(record, job)).toBe(state);
  });
});

describe('records', () => {
  it('decode tolerantly', () => {
    expect(decodeTriggerRecord(JSON.stringify(ok))).toEqual(ok);
    expect(decodeTriggerRecord('{')).toBeUndefined();
    expect(decodeTriggerRecord('{"s":"weird"}')).toBeUndefined();
    expect(decodeTriggerRecord(null)).toBeUndefined();
  });

  it('become the public status', () => {
    expect(toTriggerStatus('F.c1.0', 'F', ok, 'succeeded', ok.t - 1_000)).toEqual({
      id: 'F.c1.0',
      flow: 'F',
      state: 'succeeded',
      attempts: 1,
      result: { Flow__InterviewGuid: 'g' },
      error: null,
      enqueuedAt: new Date(ok.t - 1_000).toISOString(),
      lastAttemptAt: new Date(ok.t).toISOString(),
      settledAt: new Date(ok.t).toISOString(),
    });
    expect(toTriggerStatus('F.c1.0', 'F', { ...retry, t: 5_000 }, 'retrying')).toMatchObject({
      enqueuedAt: null,
      lastAttemptAt: '1970-01-01T00:00:05.000Z',
      settledAt: null,
    });
    expect(
      toTriggerStatus('F.c1.0', 'F', { s: 'dead', a: 0, t: 7_000, e: retry.e }, 'dead'),
    ).toMatchObject({ lastAttemptAt: null, settledAt: '1970-01-01T00:00:07.000Z' });
    expect(toTriggerStatus('F.c1.0', 'F', retry, 'retrying')).toMatchObject({
      attempts: 2,
      result: null,
      error: retry.e,
    });
    expect(toTriggerStatus('F.c1.0', 'F', undefined, 'queued')).toMatchObject({
      attempts: 0,
      result: null,
      error: null,
    });
  });
});
