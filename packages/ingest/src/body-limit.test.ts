import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { limitBody } from './body-limit.js';

const chunks = (...sizes: number[]) => Readable.from(sizes.map((n) => Buffer.alloc(n, 'a')));

describe('limitBody', () => {
  it('passes a body within the limit through', async () => {
    expect(await text(limitBody(chunks(3, 4), Number.NaN, 10, 100))).toBe('aaaaaaa');
  });

  it('leaves a body that declares a length within the limit alone', () => {
    const payload = chunks(5);
    expect(limitBody(payload, 5, 10, 100)).toBe(payload);
  });

  it('reads an oversized body to its end, then fails with 413', async () => {
    const payload = chunks(6, 6, 6);
    await expect(text(limitBody(payload, Number.NaN, 10, 100))).rejects.toMatchObject({
      status: 413,
      code: 'BODY_TOO_LARGE',
    });
    expect(payload.readableEnded).toBe(true);
  });

  it('gives up past the drain limit', async () => {
    await expect(text(limitBody(chunks(60, 60), 120, 10, 100))).rejects.toMatchObject({
      status: 413,
    });
  });
});
