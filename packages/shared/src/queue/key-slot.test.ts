import { describe, expect, it } from 'vitest';
import { crc16, hashTag, keySlot } from './key-slot.js';

describe('keySlot', () => {
  it('computes CRC16/XMODEM (the cluster specification test vector)', () => {
    expect(crc16('123456789')).toBe(0x31c3);
  });

  it('hashes the hash tag when there is one, as CLUSTER KEYSLOT does', () => {
    expect(keySlot('foo')).toBe(12_182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('{fd}:q:Welcome_SMS:wait')).toBe(keySlot('{fd}:limits'));
    expect(hashTag('foo{}{bar}')).toBe('foo{}{bar}'); // an empty tag: the whole key
    expect(hashTag('foo{{bar}}')).toBe('{bar');
    expect(hashTag('foo{bar}{zap}')).toBe('bar');
  });
});
