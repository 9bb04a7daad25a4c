import { describe, expect, it } from 'vitest';
import { ChunkLease } from './chunk-lease.js';

function clockAt(start: number): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('ChunkLease', () => {
  it('may send until the lock could have expired, less a margin', () => {
    const clock = clockAt(10_000);
    const lease = new ChunkLease(2_000, 10_000, clock.now);
    expect(lease.canSend()).toBe(true);
    clock.advance(1_700);
    expect(lease.canSend()).toBe(true);
    // The margin is a tenth of the lock (at most 1 s): 200 ms here.
    clock.advance(150);
    expect(lease.canSend()).toBe(false);
    expect(lease.lost).toBe(true);
    expect(lease.reason).toMatch(/could not be renewed/);
  });

  it('counts the lock from when the fetch was sent, not from when the chunk arrived', () => {
    const clock = clockAt(50_000);
    // The fetch that took the lock was sent 1.9 s before the chunk arrived (a blocking fetch).
    const lease = new ChunkLease(2_000, 48_100, clock.now);
    expect(lease.canSend()).toBe(false);
  });

  it('moves on with each confirmed renewal, from the time it was sent', async () => {
    const clock = clockAt(0);
    const lease = new ChunkLease(2_000, 0, clock.now);
    clock.advance(1_000);
    let answer: (value: number) => void = () => {};
    const renewal = lease.renew(
      () =>
        new Promise<number>((resolve) => {
          answer = resolve;
        }),
    );
    clock.advance(500); // the answer takes half a second
    answer(1);
    await renewal;
    expect(lease.validUntil).toBe(3_000); // sent at 1,000 + 2,000
    clock.advance(1_200); // 2,700
    expect(lease.canSend()).toBe(true);
    clock.advance(200); // 2,900: within the margin
    expect(lease.canSend()).toBe(false);
  });

  it('is lost at once when Redis says the lock is not ours, and tells its listeners once', async () => {
    const lease = new ChunkLease(30_000, Date.now());
    const reasons: string[] = [];
    lease.onLost((reason) => reasons.push(reason));
    await lease.renew(async () => 0);
    expect(lease.lost).toBe(true);
    expect(lease.canSend()).toBe(false);
    lease.markLost('again');
    expect(reasons).toEqual(['Redis says the lock belongs to nobody or to another worker']);
    const late: string[] = [];
    lease.onLost((reason) => late.push(reason));
    expect(late).toHaveLength(1);
  });

  it('runs out on its own while renewals go unanswered, and sends one renewal at a time', async () => {
    const clock = clockAt(0);
    const lease = new ChunkLease(2_000, 0, clock.now);
    let sent = 0;
    const hang = () => {
      sent++;
      return new Promise<number>(() => {});
    };
    void lease.renew(hang);
    clock.advance(1_000);
    void lease.renew(hang);
    expect(sent).toBe(1);
    clock.advance(900);
    expect(lease.canSend()).toBe(false);
  });

  it('a failed renewal changes nothing until the lease runs out', async () => {
    const clock = clockAt(0);
    const lease = new ChunkLease(2_000, 0, clock.now);
    await lease.renew(async () => {
      throw new Error('connection lost');
    });
    expect(lease.lost).toBe(false);
    clock.advance(2_000);
    await lease.renew(async () => {
      throw new Error('connection lost');
    });
    expect(lease.lost).toBe(true);
  });
});
