import { type CallPermit, type CallSlots, LocalCallSlots } from '@flow-dispatcher/salesforce';
import { describe, expect, it } from 'vitest';
import { ChunkRun, type PendingTrigger } from './chunk-run.js';
import { FlowBatcher } from './flow-batcher.js';
import type { AdmittedCall, CallPace } from './flow-pacing.js';

function triggers(run: ChunkRun, count: number): PendingTrigger[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, index) => ({
    run,
    index,
    input: { IndividualId: `id-${index}` },
    attempts: 0,
    enqueuedAt: now,
    arrivedAt: now,
  }));
}

/** A pace whose grants the test hands out by hand, recording what was asked and settled. */
class ManualPace implements CallPace {
  readonly asked: number[] = [];
  readonly settled: [number, number][] = [];
  #pending: { want: () => number; slots: CallSlots; resolve: (a: AdmittedCall) => void }[] = [];

  admit(want: () => number, slots: CallSlots): Promise<AdmittedCall> {
    return new Promise((resolve) => this.#pending.push({ want, slots, resolve }));
  }

  /** Grants the waiting call `tokens` (at most what it wants now), with a permit. */
  async grant(tokens: number): Promise<number> {
    const next = this.#pending.shift();
    if (!next) throw new Error('no call is waiting for tokens');
    const want = next.want();
    this.asked.push(want);
    const permit = await next.slots.acquire();
    next.resolve({ permit, grant: Math.min(want, tokens) });
    return want;
  }

  get waiting(): number {
    return this.#pending.length;
  }

  settle(granted: number, used: number): void {
    this.settled.push([granted, used]);
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('FlowBatcher with a pace', () => {
  it('fills while it waits for tokens, sends no more than granted, settles what it used', async () => {
    const pace = new ManualPace();
    const calls: number[] = [];
    const slots = new LocalCallSlots(4);
    const batcher = new FlowBatcher(
      'Flow',
      { maxInputs: () => 200, lingerMs: () => 0, blocked: () => false, pace },
      slots,
      async (_flow, batch, permit: CallPermit) => {
        calls.push(batch.length);
        permit.release();
      },
      (err) => {
        throw err;
      },
    );
    const run = new ChunkRun('Flow', 'c1', undefined, undefined);
    batcher.add(triggers(run, 10));
    await tick();
    expect(pace.waiting).toBe(1);
    expect(calls).toEqual([]); // no call leaves before its tokens
    batcher.add(triggers(run, 300)); // keeps filling meanwhile
    expect(await pace.grant(50)).toBe(200); // it wants a full call by now
    await tick();
    expect(calls).toEqual([50]);
    expect(pace.settled).toEqual([[50, 50]]);
    // The next call waits for its own tokens, holding no permit meanwhile.
    expect(pace.waiting).toBe(1);
    expect(slots.inUse).toBe(0);
    await pace.grant(50);
    await tick();
    expect(calls).toEqual([50, 50]);
  });

  it('gives back the tokens of triggers handed back while the call waited', async () => {
    const pace = new ManualPace();
    const calls: number[] = [];
    const batcher = new FlowBatcher(
      'Flow',
      { maxInputs: () => 200, lingerMs: () => 0, blocked: () => false, pace },
      new LocalCallSlots(1),
      async (_flow, batch, permit: CallPermit) => {
        calls.push(batch.length);
        permit.release();
      },
      (err) => {
        throw err;
      },
    );
    const run = new ChunkRun('Flow', 'c1', undefined, undefined);
    batcher.add(triggers(run, 40));
    await tick();
    const grant = pace.grant(40);
    batcher.dropRun(run); // its lock was lost before the cut
    await grant;
    await tick();
    expect(calls).toEqual([]);
    expect(pace.settled).toEqual([[40, 0]]);
  });
});
