import { describe, expect, it } from 'vitest';
import { arrayReply, defineScript, integerReply, lua, ScriptReplyError } from './redis-script.js';

describe('defineScript', () => {
  it('names KEYS and ARGV for the Lua in a one-line prelude, and the extras where they start', () => {
    const script = defineScript({
      name: 'sample',
      keys: ['pending', 'job'] as const,
      args: ['flow', 'count'] as const,
      extraKeys: true,
      extraArgs: true,
      lua: lua`
return KEY.pending`,
      reply: (raw) => raw,
    });
    expect(script.source).toBe(
      'local KEY, ARG = { pending = KEYS[1], job = KEYS[2] }, { flow = ARGV[1], count = ARGV[2] }' +
        ' local FIRST_EXTRA_KEY = 3 local FIRST_EXTRA_ARG = 3\n\nreturn KEY.pending',
    );
    expect(script.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('keeps the Lua text verbatim and refuses interpolation', () => {
    expect(lua`return '\n'`).toBe("return '\\n'");
    const interpolate = lua as unknown as (s: TemplateStringsArray, ...v: unknown[]) => string;
    expect(() => interpolate`return ${1}`).toThrow(/no interpolated values/);
  });

  it('refuses names that the prelude could not declare', () => {
    const spec = { name: 'bad', args: [] as const, lua: '', reply: (raw: unknown) => raw };
    expect(() => defineScript({ ...spec, keys: ['a-b'] as const })).toThrow(/"a-b"/);
    expect(() => defineScript({ ...spec, keys: ['a', 'a'] as const })).toThrow(/"a"/);
    expect(() => defineScript({ ...spec, name: 'with space', keys: [] as const })).toThrow(
      /not a plain identifier/,
    );
  });

  it('reads replies strictly: a script and its caller that disagree fail loudly', () => {
    expect(integerReply('s', 3)).toBe(3);
    expect(arrayReply('s', [1, 'ok', 0], 3)).toEqual([1, 'ok', 0]);
    const wrong = [
      () => integerReply('s', '3'),
      () => arrayReply('s', [1], 3),
      () => arrayReply('s', 1),
    ];
    for (const read of wrong) {
      expect(read).toThrow(ScriptReplyError);
      expect(read).toThrow(
        expect.objectContaining({
          name: 'ScriptReplyError',
          code: 'SCRIPT_REPLY_UNEXPECTED',
          script: 's',
        }),
      );
    }
  });
});
