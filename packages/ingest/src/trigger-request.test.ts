import { defaultInputLimits } from '@flow-dispatcher/shared';
import { describe, expect, it } from 'vitest';
import { parseTriggerRequest } from './trigger-request.js';

const limits = { maxTriggers: 3, inputLimits: defaultInputLimits };
const deep = (levels: number): unknown => (levels === 0 ? 'x' : { a: deep(levels - 1) });

describe('parseTriggerRequest', () => {
  it('returns one item per trigger, keys defaulting to null', () => {
    expect(
      parseTriggerRequest(
        {
          triggers: [
            { input: { IndividualId: 'a', EmailAddress: 'x@example.com' } },
            { input: { IndividualId: 'b' }, key: 'k-1' },
            { input: { IndividualId: 'c' }, key: null },
          ],
        },
        limits,
      ),
    ).toEqual([
      { input: { IndividualId: 'a', EmailAddress: 'x@example.com' }, key: null },
      { input: { IndividualId: 'b' }, key: 'k-1' },
      { input: { IndividualId: 'c' }, key: null },
    ]);
  });

  it("gives every trigger the body's priority, and refuses an unknown one", () => {
    const items = parseTriggerRequest(
      { priority: 'high', triggers: [{ input: { IndividualId: 'a' } }] },
      limits,
    );
    expect(items).toEqual([{ input: { IndividualId: 'a' }, key: null, priority: 'high' }]);
    expect(() =>
      parseTriggerRequest(
        { priority: 'urgent', triggers: [{ input: { IndividualId: 'a' } }] },
        limits,
      ),
    ).toThrow(/^priority must be "high", "normal" or "low"/);
  });

  it.each([
    [null, 'INVALID_REQUEST', /^the body must be a JSON object/],
    [[], 'INVALID_REQUEST', /^the body must be a JSON object/],
    [{}, 'INVALID_REQUEST', /^triggers must be an array/],
    [{ triggers: 'x' }, 'INVALID_REQUEST', /^triggers must be an array/],
    [{ triggers: [] }, 'INVALID_REQUEST', /^triggers must hold at least one trigger/],
    [{ triggers: [{ input: {} }], extra: 1 }, 'INVALID_REQUEST', /unknown field\(s\) "extra"/],
    [{ triggers: [1] }, 'INVALID_REQUEST', /^triggers\[0\] must be an object/],
    [
      { triggers: [{ input: { IndividualId: 'a' }, Key: 'k' }] },
      'INVALID_REQUEST',
      /^triggers\[0\] has unknown field\(s\) "Key"/,
    ],
    [
      { triggers: [{ input: { IndividualId: 'a' }, key: 5 }] },
      'INVALID_REQUEST',
      /^triggers\[0\]\.key must be a string/,
    ],
    [
      { triggers: [{ input: { IndividualId: 'a' }, key: '' }] },
      'INVALID_REQUEST',
      /^triggers\[0\]\.key must be 1 to 256/,
    ],
    [
      { triggers: [{ input: { IndividualId: 'a' }, key: 'k'.repeat(257) }] },
      'INVALID_REQUEST',
      /key must be 1 to 256/,
    ],
    [{ triggers: [{}] }, 'INVALID_INPUT', /^triggers\[0\]\.input must be a JSON object/],
    [
      { triggers: [{ input: 'x' }] },
      'INVALID_INPUT',
      /^triggers\[0\]\.input must be a JSON object/,
    ],
    [{ triggers: [{ input: [] }] }, 'INVALID_INPUT', /^triggers\[0\]\.input must be a JSON object/],
    [
      { triggers: [{ input: { IndividualId: 'a' } }, { input: { EmailAddress: 'x' } }] },
      'INVALID_INPUT',
      /^triggers\[1\]\.input\.IndividualId is required/,
    ],
    [
      { triggers: [{ input: { IndividualId: 'a', constructor: { prototype: {} } } }] },
      'INVALID_INPUT',
      /invalid input name "constructor"/,
    ],
    [
      { triggers: [{ input: { IndividualId: 'a', nested: deep(12) } }] },
      'INVALID_INPUT',
      /^triggers\[0\]\.input\.nested(\.a)+ nests deeper than 8 levels/,
    ],
    [
      { triggers: [{ input: { IndividualId: 'a', big: 'x'.repeat(70_000) } }] } as unknown,
      'INVALID_INPUT',
      /more than the 65536 allowed/,
    ],
    [
      { triggers: Array.from({ length: 4 }, () => ({ input: { IndividualId: 'a' } })) },
      'TOO_MANY_TRIGGERS',
      /4 triggers, more than the 3/,
    ],
  ])('refuses case %# with %s: %s', (body, code, message) => {
    try {
      parseTriggerRequest(body, limits);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ status: 400, code });
      expect((err as Error).message).toMatch(message);
    }
  });
});
