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

  it('schedules every trigger of a request with notBefore or delay, and names a bad field', () => {
    const at = new Date(Date.now() + 60_000).toISOString();
    const [item] = parseTriggerRequest(
      { notBefore: at, triggers: [{ input: { IndividualId: 'a' } }] },
      limits,
    );
    expect(item?.notBefore).toBe(Date.parse(at));
    const [delayed] = parseTriggerRequest(
      { delay: 5_000, triggers: [{ input: { IndividualId: 'a' } }] },
      limits,
    );
    expect((delayed?.notBefore ?? 0) - Date.now()).toBeGreaterThan(4_000);
    const refused = (body: Record<string, unknown>) => {
      try {
        parseTriggerRequest({ ...body, triggers: [{ input: { IndividualId: 'a' } }] }, limits);
      } catch (err) {
        return err as { status: number; code: string; message: string; field?: string };
      }
      throw new Error('accepted');
    };
    expect(refused({ notBefore: '2026-12-24 09:00' })).toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/^notBefore must be an ISO-8601 instant with a zone/),
    });
    expect(refused({ delay: -5 })).toMatchObject({ status: 400, code: 'INVALID_REQUEST' });
    expect(refused({ delay: 5, notBefore: at }).message).toMatch(/not both/);
    // A trigger's own priority and schedule win over the request's.
    const items = parseTriggerRequest(
      {
        priority: 'low',
        delay: 60_000,
        triggers: [
          { input: { IndividualId: 'a' }, priority: 'high', notBefore: at },
          { input: { IndividualId: 'b' } },
        ],
      },
      limits,
    );
    expect(items[0]).toMatchObject({ priority: 'high', notBefore: Date.parse(at) });
    expect(items[1]?.priority).toBe('low');
    expect((items[1]?.notBefore ?? 0) - Date.now()).toBeGreaterThan(59_000);
    expect(() =>
      parseTriggerRequest(
        {
          triggers: [{ input: { IndividualId: 'a' } }, { input: { IndividualId: 'b' }, delay: -1 }],
        },
        limits,
      ),
    ).toThrow(/^triggers\[1\]\.delay must be a whole number/);
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
