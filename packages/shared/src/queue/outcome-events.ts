import { lua } from '../redis/redis-script.js';

/**
 * Outcome events: one entry per settled trigger in its partition's stream
 * (`RedisKeys.outcomeEvents`, `<root>:outcome-events`), appended by the very script that writes
 * the trigger's outcome record, so an event exists exactly when its record became final: never
 * lost, never invented, never twice (see docs/design.md, "Outcome events").
 *
 * Each entry's fields, all strings (Redis streams hold strings):
 *
 * - `id`: the trigger id; `key`: its idempotency key ('' without one); `flow`;
 * - `outcome`: `succeeded`, `dead`, `retried` (OUTCOME_EVENTS=all only) or `cancelled`;
 * - `code`: the error code of `dead` and `retried` ('' otherwise); `attempts`;
 * - `at`: when it was settled (epoch ms); `output`: Salesforce's `outputValues` as JSON ('' when
 *   there were none or the outcome is not `succeeded`).
 */
export type OutcomeKind = 'succeeded' | 'dead' | 'retried' | 'cancelled';

/** One outcome event as a reader gets it. */
export interface OutcomeEvent {
  /** The stream entry's id (`<ms>-<seq>`), unique within its partition. */
  eventId: string;
  /** The queue partition whose stream holds it. */
  partition: number;
  /** The trigger's id (as `trigger()` answered it). */
  id: string;
  /** The trigger's idempotency key, or null. */
  key: string | null;
  flow: string;
  outcome: OutcomeKind;
  /** The error code (dead, retried), or null. */
  code: string | null;
  /** Counted attempts so far. */
  attempts: number;
  /** When it was settled (epoch ms). */
  at: number;
  /** Salesforce's `outputValues` of a succeeded trigger, or null. */
  output: Record<string, unknown> | null;
}

/** How outcome streams are trimmed (OUTCOME_EVENTS_MAXLEN, OUTCOME_EVENTS_MAX_AGE_MS). */
export interface OutcomeEventTrim {
  /** Entries kept per stream, approximately (`MAXLEN ~`); 0: no length bound. */
  maxLen: number;
  /** Entries older than this are trimmed (`MINID ~`), in ms; 0: no age bound. */
  maxAgeMs: number;
}

/**
 * Lua functions, to be put at the top of a script's body (`lua: OUTCOME_EVENT_LUA + lua\`…\``),
 * for every script that settles triggers (the worker's persistOutcomes; a producer-side one that
 * cancels): the event shape is written in one place.
 *
 * - `fd_append_outcome_event(stream, maxLen, id, key, flow, outcome, code, attempts, at, output)`
 *   appends one event (XADD, `MAXLEN ~ maxLen` unless 0);
 * - `fd_trim_outcome_events(stream, maxAgeMs)` drops events older than `maxAgeMs` by the server's
 *   clock (XTRIM MINID ~, unless 0): call it once per script run that appended.
 *
 * The stream key must be among the script's KEYS (it shares the partition's hash tag).
 */
export const OUTCOME_EVENT_LUA = lua`
local function fd_append_outcome_event(stream, maxLen, id, key, flow, outcome, code, attempts, at, output)
  if tonumber(maxLen) > 0 then
    redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'id', id, 'key', key, 'flow', flow,
      'outcome', outcome, 'code', code, 'attempts', attempts, 'at', at, 'output', output)
  else
    redis.call('XADD', stream, '*', 'id', id, 'key', key, 'flow', flow, 'outcome', outcome,
      'code', code, 'attempts', attempts, 'at', at, 'output', output)
  end
end
local function fd_trim_outcome_events(stream, maxAgeMs)
  local age = tonumber(maxAgeMs)
  if age > 0 then
    local now = redis.call('TIME')
    local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
    redis.call('XTRIM', stream, 'MINID', '~', string.format('%.0f', ms - age))
  end
end
`;

const KINDS = new Set<string>(['succeeded', 'dead', 'retried', 'cancelled']);

/**
 * Reads one stream entry (`[entryId, [field, value, …]]` as XRANGE/XREADGROUP answer it); undefined
 * for an entry that is not an outcome event.
 */
export function decodeOutcomeEvent(
  partition: number,
  entryId: string,
  fields: readonly string[],
): OutcomeEvent | undefined {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2)
    map.set(fields[i] as string, fields[i + 1] as string);
  const id = map.get('id');
  const flow = map.get('flow');
  const outcome = map.get('outcome');
  if (!id || !flow || !outcome || !KINDS.has(outcome)) return undefined;
  let output: Record<string, unknown> | null = null;
  const raw = map.get('output');
  if (raw) {
    try {
      output = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      output = null;
    }
  }
  return {
    eventId: entryId,
    partition,
    id,
    key: map.get('key') || null,
    flow,
    outcome: outcome as OutcomeKind,
    code: map.get('code') || null,
    attempts: Number(map.get('attempts') ?? 0),
    at: Number(map.get('at') ?? 0),
    output,
  };
}
