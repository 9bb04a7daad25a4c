import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DrainProgress } from './drain-progress.js';

function stream(tty: boolean): NodeJS.WriteStream & { text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(out, { isTTY: tty, columns: 120, text: () => text });
  return out;
}

describe('DrainProgress', () => {
  it('writes a plain line at most every 5 s when stderr is not a terminal', () => {
    const out = stream(false);
    const progress = new DrainProgress(out);
    progress.update(12_000, 400, 2_000, 10_000);
    progress.update(11_000, 400, 3_000, 11_000);
    progress.update(9_000, 500, 8_000, 15_500);
    progress.stop();
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'draining: 12,000 trigger(s) pending, 400/s, ETA 30s, 2.0s elapsed',
      'draining: 9,000 trigger(s) pending, 500/s, ETA 18s, 8.0s elapsed',
    ]);
  });

  it('draws a bar from the largest backlog seen to zero on a terminal', () => {
    const out = stream(true);
    const progress = new DrainProgress(out);
    progress.update(1_000, 0, 0);
    progress.update(2_000, 0, 1_000);
    progress.update(500, 750, 2_000);
    progress.stop();
    const text = out.text();
    expect(text).toContain('draining [');
    expect(text).toContain('75% | 500 pending | 750/s');
  });
});
