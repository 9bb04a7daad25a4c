import {
  decodeOutcomeEvent,
  isCluster,
  type OutcomeEvent,
  type RedisConnection,
  type RedisKeys,
} from '@flow-dispatcher/shared';

/** How `producer.outcomes()` reads the outcome streams. */
export interface OutcomeReadOptions {
  /**
   * The consumer group (one per backend that reacts to outcomes): each event goes to one consumer
   * of the group. Created on every partition's stream when missing.
   */
  group: string;
  /**
   * This consumer's name within the group, stable across restarts of the same process slot (a
   * pod name): a consumer restarted under its name gets its unacknowledged events first.
   */
  consumer: string;
  /** Only these queue partitions' streams. @defaultValue all of them */
  partitions?: readonly number[];
  /**
   * Only events of these flows are yielded; the others are acknowledged unseen (the group is
   * this reader's: give another group to a reader of other flows).
   */
  flows?: readonly string[];
  /** Where a group created now starts: `now` (new events only) or `start` (every event kept). @defaultValue 'now' */
  from?: 'now' | 'start';
  /** Longest wait of one blocking read (the loop checks `signal` between reads). @defaultValue 5000 */
  blockMs?: number;
  /**
   * Events delivered to another consumer and unacknowledged for this long are claimed (XAUTOCLAIM):
   * that consumer is taken for dead. Longer than the slowest handling of one event. @defaultValue 60000
   */
  minIdleMs?: number;
  /** Entries read per call. @defaultValue 100 */
  count?: number;
  /** Stops the reader (a blocked read is cut short). */
  signal?: AbortSignal;
}

interface Part {
  keys: RedisKeys;
  stream: string;
  /** Own pending entries still to re-read (`0` at first, then after the last one), or done. */
  own: string | undefined;
  /** XAUTOCLAIM cursor. */
  claim: string;
}

type Entry = [string, string[]];

/**
 * Reads outcome events with a consumer group, over every partition's stream (see
 * `Producer.outcomes`). Each event is acknowledged (XACK) when the loop asks for the next one,
 * that is once the handler's step for it returned. An event in hand when the loop ends (break,
 * throw, return()) is not acknowledged: it is delivered again, to this consumer name's next run
 * (its own pending events come first) or to another consumer once idle for `minIdleMs`.
 * Delivery is at least once; a handler that must act once per trigger keys its effect by the
 * event's `id` (a trigger settles once, so it has one event, see docs/design.md).
 */
export async function* readOutcomes(
  redis: RedisConnection,
  keys: RedisKeys,
  options: OutcomeReadOptions,
): AsyncGenerator<OutcomeEvent, void, undefined> {
  const { group, consumer, signal } = options;
  if (!group || !consumer) throw new TypeError('outcomes() needs a group and a consumer name');
  const blockMs = Math.max(1, options.blockMs ?? 5_000);
  const minIdleMs = Math.max(0, options.minIdleMs ?? 60_000);
  const count = Math.max(1, options.count ?? 100);
  const flows = options.flows ? new Set(options.flows) : undefined;
  const parts: Part[] = (options.partitions ?? keys.allPartitions.map((k) => k.partition)).map(
    (partition) => {
      const partKeys = keys.forPartition(partition);
      return { keys: partKeys, stream: partKeys.outcomeEvents, own: '0', claim: '0-0' };
    },
  );
  for (const part of parts) {
    try {
      await redis.call(
        'XGROUP',
        'CREATE',
        part.stream,
        group,
        options.from === 'start' ? '0' : '$',
        'MKSTREAM',
      );
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  }
  // Blocking reads get a connection of their own: the shared one stays free for everything else.
  const blocking = redis.duplicate();
  blocking.on('error', () => {});
  const stop = () => blocking.disconnect();
  signal?.addEventListener('abort', stop, { once: true });
  const buffer: { part: Part; entry: Entry }[] = [];
  const take = (part: Part, entries: readonly (Entry | null)[] | undefined) => {
    for (const entry of entries ?? []) if (entry) buffer.push({ part, entry });
  };
  const claimEvery = Math.max(500, Math.min(minIdleMs / 2, 10_000));
  let nextClaimAt = 0;
  let turn = 0;
  try {
    for (;;) {
      while (buffer.length > 0) {
        if (signal?.aborted) return;
        const { part, entry } = buffer.shift() as { part: Part; entry: Entry };
        const event = decodeOutcomeEvent(part.keys.partition, entry[0], entry[1]);
        if (event && (!flows || flows.has(event.flow))) yield event;
        // The handler's step returned (the loop asked for the next event): acknowledge.
        await redis.call('XACK', part.stream, group, entry[0]);
      }
      if (signal?.aborted) return;
      // 1. This consumer's own unacknowledged events (a restart under the same name).
      for (const part of parts) {
        if (part.own === undefined) continue;
        const reply = (await redis.call(
          'XREADGROUP',
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'STREAMS',
          part.stream,
          part.own,
        )) as [string, Entry[]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        take(part, entries);
        part.own = entries.length > 0 ? entries[entries.length - 1]?.[0] : undefined;
      }
      if (buffer.length > 0) continue;
      // 2. Events of consumers gone silent for minIdleMs.
      if (Date.now() >= nextClaimAt) {
        let more = false;
        for (const part of parts) {
          const reply = (await redis.call(
            'XAUTOCLAIM',
            part.stream,
            group,
            consumer,
            minIdleMs,
            part.claim,
            'COUNT',
            count,
          )) as [string, (Entry | null)[]] | null;
          part.claim = reply?.[0] ?? '0-0';
          take(part, reply?.[1]);
          if (part.claim !== '0-0') more = true;
        }
        if (!more) nextClaimAt = Date.now() + claimEvery;
        if (buffer.length > 0) continue;
      }
      // 3. New events: one blocking read over every stream (one server), or, on a Cluster (whose
      // streams are on different nodes), one partition at a time with a short block.
      const reading = isCluster(blocking) ? [parts[turn++ % parts.length] as Part] : parts;
      const block = isCluster(blocking) ? Math.min(blockMs, 100) : blockMs;
      let reply: [string, Entry[]][] | null;
      try {
        reply = (await blocking.call(
          'XREADGROUP',
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'BLOCK',
          block,
          'STREAMS',
          ...reading.map((part) => part.stream),
          ...reading.map(() => '>'),
        )) as [string, Entry[]][] | null;
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      for (const [stream, entries] of reply ?? []) {
        const part = parts.find((p) => p.stream === stream);
        if (part) take(part, entries);
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    blocking.disconnect();
  }
}

/** The stream id's time (ms) and sequence, for ordering events of several partitions. */
function entryOrder(a: OutcomeEvent, b: OutcomeEvent): number {
  const [am = 0, as = 0] = a.eventId.split('-').map(Number);
  const [bm = 0, bs = 0] = b.eventId.split('-').map(Number);
  return am - bm || as - bs || a.partition - b.partition;
}

/** The last `limit` outcome events kept (over every partition), oldest first. Acknowledges nothing. */
export async function recentOutcomes(
  redis: RedisConnection,
  keys: RedisKeys,
  limit: number,
): Promise<OutcomeEvent[]> {
  const events: OutcomeEvent[] = [];
  for (const partKeys of keys.allPartitions) {
    const entries = (await redis.call(
      'XREVRANGE',
      partKeys.outcomeEvents,
      '+',
      '-',
      'COUNT',
      limit,
    )) as Entry[];
    for (const [id, fields] of entries) {
      const event = decodeOutcomeEvent(partKeys.partition, id, fields);
      if (event) events.push(event);
    }
  }
  return events.sort(entryOrder).slice(-limit);
}

/** How `tailOutcomes` reads. */
export interface OutcomeTailOptions {
  /** `now`: events appended from now on; `start`: every event kept, then new ones. */
  from: 'now' | 'start';
  /** Longest wait of one blocking read. @defaultValue 5000 */
  blockMs?: number;
  /** Stops the reader (a blocked read is cut short). */
  signal?: AbortSignal;
}

/**
 * Follows the outcome streams without a consumer group (XREAD): nothing is acknowledged, and a
 * reader sees every event from where it starts, whoever else reads. For watching (the CLI's
 * `events --follow`); a backend that must not miss events uses `readOutcomes`.
 */
export async function* tailOutcomes(
  redis: RedisConnection,
  keys: RedisKeys,
  options: OutcomeTailOptions,
): AsyncGenerator<OutcomeEvent, void, undefined> {
  const { signal } = options;
  const blockMs = Math.max(1, options.blockMs ?? 5_000);
  const parts = keys.allPartitions.map((k) => ({ keys: k, stream: k.outcomeEvents, last: '0-0' }));
  if (options.from === 'now') {
    // `$` would lose what arrives between two reads: start after the last entry there is now.
    for (const part of parts) {
      const [last] = (await redis.call('XREVRANGE', part.stream, '+', '-', 'COUNT', 1)) as Entry[];
      if (last) part.last = last[0];
    }
  }
  const blocking = redis.duplicate();
  blocking.on('error', () => {});
  const stop = () => blocking.disconnect();
  signal?.addEventListener('abort', stop, { once: true });
  let turn = 0;
  try {
    for (;;) {
      if (signal?.aborted) return;
      const cluster = isCluster(blocking);
      const reading = cluster ? [parts[turn++ % parts.length] as (typeof parts)[number]] : parts;
      let reply: [string, Entry[]][] | null;
      try {
        reply = (await blocking.call(
          'XREAD',
          'COUNT',
          500,
          'BLOCK',
          cluster ? Math.min(blockMs, 100) : blockMs,
          'STREAMS',
          ...reading.map((part) => part.stream),
          ...reading.map((part) => part.last),
        )) as [string, Entry[]][] | null;
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      for (const [stream, entries] of reply ?? []) {
        const part = parts.find((p) => p.stream === stream);
        if (!part) continue;
        for (const [id, fields] of entries) {
          part.last = id;
          const event = decodeOutcomeEvent(part.keys.partition, id, fields);
          if (event) yield event;
        }
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    blocking.disconnect();
  }
}
