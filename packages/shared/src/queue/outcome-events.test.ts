import { describe, expect, it } from 'vitest';
import { decodeOutcomeEvent, OUTCOME_EVENT_LUA } from './outcome-events.js';

describe('decodeOutcomeEvent', () => {
  const fields = (over: Record<string, string> = {}) =>
    Object.entries({
      id: 'Welcome_SMS.c1.0',
      key: 'signup-1',
      flow: 'Welcome_SMS',
      outcome: 'succeeded',
      code: '',
      attempts: '1',
      at: '1700000000000',
      output: '{"Flow__InterviewGuid":"g"}',
      ...over,
    }).flat();

  it('reads every field, empty strings as null', () => {
    expect(decodeOutcomeEvent(2, '1700000000001-0', fields())).toEqual({
      eventId: '1700000000001-0',
      partition: 2,
      id: 'Welcome_SMS.c1.0',
      key: 'signup-1',
      flow: 'Welcome_SMS',
      outcome: 'succeeded',
      code: null,
      attempts: 1,
      at: 1_700_000_000_000,
      output: { Flow__InterviewGuid: 'g' },
    });
    expect(
      decodeOutcomeEvent(0, '1-0', fields({ key: '', outcome: 'dead', code: 'X', output: '' })),
    ).toMatchObject({ key: null, outcome: 'dead', code: 'X', output: null });
  });

  it('skips what is not an outcome event', () => {
    expect(decodeOutcomeEvent(0, '1-0', fields({ outcome: 'exploded' }))).toBeUndefined();
    expect(decodeOutcomeEvent(0, '1-0', ['id', 'x'])).toBeUndefined();
    expect(decodeOutcomeEvent(0, '1-0', fields({ output: '{not json' }))?.output).toBeNull();
  });

  it('the Lua snippet defines its two functions and nothing global', () => {
    expect(OUTCOME_EVENT_LUA).toContain('local function fd_append_outcome_event(');
    expect(OUTCOME_EVENT_LUA).toContain('local function fd_trim_outcome_events(');
    expect(OUTCOME_EVENT_LUA).not.toMatch(/^function /m);
  });
});
