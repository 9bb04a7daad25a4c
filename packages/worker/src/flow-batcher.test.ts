import { type CallPermit, LocalCallSlots } from '@flow-dispatcher/salesforce';
import { describe, expect, it } from 'vitest';
import { ChunkLease } from './chunk-lease.js';
import { ChunkRun, type PendingTrigger } from './chunk-run.js';
import { FlowBatcher } from './flow-batcher.js';

function triggers(run: ChunkRun, count: number, arrivedAt = Date.now()): PendingTrigger[] {
  return Array.from({ length: count }, (_, index) => ({
    run,
    index,
    input: { IndividualId: `id-${index}` },
    attempts: 0,
    enqueuedAt: arrivedAt,
    arrivedAt,
  }));
}

/** A batcher whose calls only record their sizes (each releases its slot at once). */
function recordingBatcher(
  limits: { maxInputs: () => number; lingerMs: () => number },
  slots: LocalCallSlots,
): { batcher: FlowBatcher; calls: number[] } {
  const calls: number[] = [];
  const batcher = new FlowBatcher(
    'Flow',
    { ...limits, blocked: () => false },
    slots,
    async (_flow, batch, permit: CallPermit) => {
      calls.push(batch.length);
      permit.release();
    },
    (err) => {
      throw err;
    },
  );
  return { batcher, calls };
}

describe('FlowBatcher', () => {
  it('cuts full calls at once and lingers on the rest', async () => {
    const run = new ChunkRun('Flow', 'c1', undefined, undefined);
    const { batcher, calls } = recordingBatcher(
      { maxInputs: () => 200, lingerMs: () => 50 },
      new LocalCallSlots(10),
    );
    batcher.add(triggers(run, 450));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toEqual([200, 200]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(calls).toEqual([200, 200, 50]);
  });

  it('fills a call while it waits for a slot', async () => {
    const slots = new LocalCallSlots(1);
    const hold = await slots.acquire();
    const run = new ChunkRun('Flow', 'c1', undefined, undefined);
    const { batcher, calls } = recordingBatcher({ maxInputs: () => 200, lingerMs: () => 0 }, slots);
    for (let i = 0; i < 10; i++) batcher.add(triggers(run, 10));
    expect(calls).toEqual([]);
    hold.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toEqual([100]);
  });

  it('hands back what is buffered when closed', async () => {
    const run = new ChunkRun('Flow', 'c1', undefined, undefined);
    run.expect(30);
    const batcher = new FlowBatcher(
      'Flow',
      { maxInputs: () => 200, lingerMs: () => 10_000, blocked: () => false },
      new LocalCallSlots(1),
      async () => {
        throw new Error('must not send');
      },
      (err) => {
        throw err;
      },
    );
    batcher.add(triggers(run, 30));
    batcher.close();
    await run.done;
    expect(run.handedBack).toBe(30);
    batcher.add(triggers(run, 1));
    expect(run.handedBack).toBe(31);
  });

  it('cuts a waiting split batch to the size the flow shrank to meanwhile', async () => {
    const slots = new LocalCallSlots(1);
    const hold = await slots.acquire();
    let maxInputs = 100;
    const run = new ChunkRun('Flow', 'c1', undefined, undefined);
    const { batcher, calls } = recordingBatcher(
      { maxInputs: () => maxInputs, lingerMs: () => 0 },
      slots,
    );
    // Two halves of a refused call of 200 wait for a slot; then another call of the flow is
    // refused too and the size drops to 50.
    const resent = triggers(run, 200);
    batcher.addSplit(resent.slice(0, 100));
    batcher.addSplit(resent.slice(100));
    maxInputs = 50;
    hold.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toEqual([50, 50, 50, 50]);
  });

  it('never puts a trigger whose chunk lock lapsed in a call, and fills the call from behind', async () => {
    const slots = new LocalCallSlots(1);
    const hold = await slots.acquire();
    const lapsing = new ChunkLease(2_000, Date.now());
    const lapsed = new ChunkRun('Flow', 'old', undefined, undefined, 0, lapsing);
    const healthy = new ChunkRun('Flow', 'new', undefined, undefined);
    lapsed.expect(30);
    const sent: string[] = [];
    const batcher = new FlowBatcher(
      'Flow',
      { maxInputs: () => 40, lingerMs: () => 0, blocked: () => false },
      slots,
      async (_flow, batch, permit) => {
        sent.push(...batch.map((trigger) => trigger.run.chunkId));
        permit.release();
      },
      (err) => {
        throw err;
      },
    );
    batcher.add(triggers(lapsed, 30));
    batcher.add(triggers(healthy, 50));
    // The lock runs out while the triggers wait for a slot (no renewal was confirmed).
    lapsing.markLost('test');
    hold.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await lapsed.done;
    expect(lapsed.handedBack).toBe(30);
    expect(sent.filter((chunk) => chunk === 'old')).toEqual([]);
    expect(sent).toHaveLength(50);
  });

  it("dropRun hands back a run's buffered and split triggers, and leaves the others", async () => {
    const slots = new LocalCallSlots(1);
    const hold = await slots.acquire();
    const gone = new ChunkRun('Flow', 'gone', undefined, undefined);
    const kept = new ChunkRun('Flow', 'kept', undefined, undefined);
    gone.expect(25);
    const { batcher, calls } = recordingBatcher({ maxInputs: () => 200, lingerMs: () => 0 }, slots);
    const mixed = [...triggers(gone, 5), ...triggers(kept, 5)];
    batcher.addSplit(mixed);
    batcher.add(triggers(gone, 20));
    batcher.add(triggers(kept, 10));
    expect(batcher.size).toBe(40);
    batcher.dropRun(gone);
    expect(batcher.size).toBe(15);
    await gone.done;
    expect(gone.handedBack).toBe(25);
    hold.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toEqual([5, 10]);
  });

  it('fills each call from the highest lane first, and a call may mix lanes', async () => {
    const slots = new LocalCallSlots(1);
    const hold = await slots.acquire();
    const low = new ChunkRun('Flow', 'low', undefined, undefined);
    const normal = new ChunkRun('Flow', 'normal', undefined, undefined);
    const high = new ChunkRun('Flow', 'high', undefined, undefined);
    const calls: string[][] = [];
    const started: number[][] = [];
    const batcher = new FlowBatcher(
      'Flow',
      { maxInputs: () => 100, lingerMs: () => 0, blocked: () => false },
      slots,
      async (_flow, batch, permit) => {
        calls.push(batch.map((trigger) => trigger.run.chunkId));
        permit.release();
      },
      (err) => {
        throw err;
      },
      (batch) => started.push(batch.map((trigger) => trigger.lane ?? 1)),
    );
    const lane = (run: ChunkRun, count: number, index: number) =>
      triggers(run, count).map((trigger) => ({ ...trigger, lane: index }));
    batcher.add(lane(low, 250, 2));
    batcher.add(lane(normal, 30, 1));
    batcher.add(lane(high, 40, 0));
    hold.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const count = (call: string[] | undefined, id: string) =>
      (call ?? []).filter((chunk) => chunk === id).length;
    expect(calls.map((call) => call.length)).toEqual([100, 100, 100, 20]);
    // The first call: every high one, then every normal one, then lows to fill it.
    expect([count(calls[0], 'high'), count(calls[0], 'normal'), count(calls[0], 'low')]).toEqual([
      40, 30, 30,
    ]);
    expect(calls[0]?.slice(0, 40).every((chunk) => chunk === 'high')).toBe(true);
    expect(count(calls[1], 'low')).toBe(100);
    expect(started[0]?.slice(0, 3)).toEqual([0, 0, 0]);
    expect(started).toHaveLength(4);
  });

  it('lingers from the oldest trigger of any lane', async () => {
    const { batcher, calls } = recordingBatcher(
      { maxInputs: () => 100, lingerMs: () => 40 },
      new LocalCallSlots(1),
    );
    const low = new ChunkRun('Flow', 'low', undefined, undefined);
    const high = new ChunkRun('Flow', 'high', undefined, undefined);
    const start = Date.now();
    batcher.add(triggers(low, 5, start).map((trigger) => ({ ...trigger, lane: 2 })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    batcher.add(triggers(high, 5).map((trigger) => ({ ...trigger, lane: 0 })));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    // One call of both lanes, cut when the low ones' linger was over.
    expect(calls).toEqual([10]);
  });

  it('holds a scheduled trigger until it is due, then lingers from its due time', async () => {
    const { batcher, calls } = recordingBatcher(
      { maxInputs: () => 100, lingerMs: () => 20 },
      new LocalCallSlots(1),
    );
    const run = new ChunkRun('Flow', 'sched', undefined, undefined);
    const start = Date.now();
    batcher.add(triggers(run, 3).map((trigger) => ({ ...trigger, dueAt: start + 60 })));
    expect(batcher.size).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toEqual([3]);
  });

  it('hands back scheduled triggers not due yet when closed or their run is dropped', async () => {
    const batcher = new FlowBatcher(
      'Flow',
      { maxInputs: () => 100, lingerMs: () => 0, blocked: () => false },
      new LocalCallSlots(1),
      async () => {
        throw new Error('must not send');
      },
      (err) => {
        throw err;
      },
    );
    const dropped = new ChunkRun('Flow', 'a', undefined, undefined);
    const closed = new ChunkRun('Flow', 'b', undefined, undefined);
    dropped.expect(2);
    closed.expect(2);
    const later = Date.now() + 10_000;
    batcher.add(triggers(dropped, 2).map((trigger) => ({ ...trigger, dueAt: later })));
    batcher.add(triggers(closed, 2).map((trigger) => ({ ...trigger, dueAt: later })));
    batcher.dropRun(dropped);
    expect(dropped.handedBack).toBe(2);
    expect(batcher.size).toBe(2);
    batcher.close();
    expect(closed.handedBack).toBe(2);
  });
});
