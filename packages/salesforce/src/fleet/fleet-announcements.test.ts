import { describe, expect, it } from 'vitest';
import {
  decodeAnnouncement,
  encodeAnnouncement,
  type FleetAnnouncement,
} from './fleet-announcements.js';

describe('fleet announcements', () => {
  it('keeps the wire form of earlier workers, so two versions in one fleet understand each other', () => {
    expect(encodeAnnouncement({ kind: 'release' })).toBe('1');
    expect(encodeAnnouncement({ kind: 'pause', until: 1_760_000_000_123 })).toBe(
      'pause:1760000000123',
    );
    expect(encodeAnnouncement({ kind: 'limit', value: 12 })).toBe('limit:12');
  });

  it('reads back what it writes', () => {
    const all: FleetAnnouncement[] = [
      { kind: 'release' },
      { kind: 'pause', until: 1_760_000_000_123 },
      { kind: 'limit', value: 1 },
      { kind: 'limit', value: 25 },
    ];
    for (const announcement of all)
      expect(decodeAnnouncement(encodeAnnouncement(announcement))).toEqual(announcement);
  });

  it('reads anything it does not understand as a release (asking again is always safe)', () => {
    for (const message of [
      '',
      'x',
      'pause:',
      'pause:soon',
      'pause:0',
      'pause:-5',
      'limit:0',
      'limit:',
      'limit:abc',
      'stop:1',
    ])
      expect(decodeAnnouncement(message), message).toEqual({ kind: 'release' });
  });
});
