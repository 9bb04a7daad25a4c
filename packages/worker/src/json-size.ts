/**
 * About how many bytes `value` takes as JSON (pure). Counts what JSON.stringify would write (keys,
 * strings, numbers, punctuation) without building the string: the worker sizes every chunk it
 * fetches against WORKER_MAX_BUFFERED_BYTES, and stringifying each would cost as much CPU as the
 * parse BullMQ already did. Escapes are not counted, so it may fall short by their count.
 */
export function jsonSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let size = 2 + Math.max(0, value.length - 1);
        for (const item of value) size += jsonSize(item);
        return size;
      }
      let size = 2;
      let first = true;
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function') continue;
        size += (first ? 0 : 1) + key.length + 3 + jsonSize(item);
        first = false;
      }
      return size;
    }
    default:
      return 0;
  }
}
