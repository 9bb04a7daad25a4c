import { describe, expect, it } from 'vitest';
import { parseJsonBody } from './json-body.js';

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody('{"triggers":[{"input":{"IndividualId":"a"}}]}')).toEqual({
      triggers: [{ input: { IndividualId: 'a' } }],
    });
    expect(parseJsonBody('{"name":"caf\\u00e9"}')).toEqual({ name: 'café' });
  });

  it.each([
    ['', 'INVALID_JSON'],
    ['  ', 'INVALID_JSON'],
    ['{"triggers":', 'INVALID_JSON'],
    ["{'a':1}", 'INVALID_JSON'],
    ['{"__proto__":{"polluted":true}}', 'FORBIDDEN_KEY'],
    ['{"triggers":[{"input":{"IndividualId":"a","__proto__":{"x":1}}}]}', 'FORBIDDEN_KEY'],
    ['{"\\u005f_proto__":{"x":1}}', 'FORBIDDEN_KEY'],
    ['{"\\u005F\\u005Fproto\\u005f\\u005f":{"x":1}}', 'FORBIDDEN_KEY'],
  ])('refuses %j with %s', (text, code) => {
    expect(() => parseJsonBody(text)).toThrow(expect.objectContaining({ status: 400, code }));
  });

  it('never lets a __proto__ key change a prototype', () => {
    expect(() => parseJsonBody('{"a":{"__proto__":{"polluted":true}}}')).toThrow();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
