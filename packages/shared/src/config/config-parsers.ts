import { parseRedisUrl } from '../redis/redis-url.js';
import { API_VERSION_EXAMPLE, isApiVersion } from './api-version.js';
import { ConfigError } from './config-error.js';

/**
 * How one environment variable's value is read. `read` gets the value trimmed and never empty
 * (an empty variable counts as unset) and throws a ConfigError naming the variable for a bad one.
 * A parser that may read a secret never repeats the value in its message.
 */
export interface Parser<T> {
  read(raw: string, name: string): T;
  /** What it accepts, in words: `1 to 2000`, `on or off`. */
  readonly accepts: string;
}

/** A whole number from `min` to `max`, digits only (no sign, exponent or separator). */
export function wholeNumber(min: number, max: number): Parser<number> {
  return {
    accepts: `${min} to ${max}`,
    read(raw, name) {
      if (!/^\d+$/.test(raw)) {
        throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
      }
      const value = Number(raw);
      if (value < min || value > max) {
        throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
      }
      return value;
    },
  };
}

/** A number above 0 and at most 1, written plainly: `0.5`, `.25`, `1`. */
export const fraction: Parser<number> = {
  accepts: 'above 0, at most 1',
  read(raw, name) {
    const value = Number(raw);
    if (!/^(0|1|0?\.\d+|1\.0*)$/.test(raw) || !(value > 0 && value <= 1)) {
      throw new ConfigError(
        name,
        `expected a number above 0 and at most 1, got ${JSON.stringify(raw)}`,
      );
    }
    return value;
  },
};

/** One of a few words, each standing for a value: `{ on: true, off: false }`. */
export function choice<V>(values: Readonly<Record<string, V>>): Parser<V> {
  const words = Object.keys(values);
  const expected =
    words.length === 2
      ? `"${words[0]}" or "${words[1]}"`
      : `one of ${words.map((word) => `"${word}"`).join(', ')}`;
  return {
    accepts: words.join(', '),
    read(raw, name) {
      if (Object.hasOwn(values, raw)) return values[raw] as V;
      throw new ConfigError(name, `expected ${expected}, got ${JSON.stringify(raw)}`);
    },
  };
}

export const onOff: Parser<boolean> = choice({ on: true, off: false });

/** A value matching `pattern`; `expected` says what that is. */
export function matching(pattern: RegExp, expected: string): Parser<string> {
  return {
    accepts: expected,
    read(raw, name) {
      if (!pattern.test(raw)) throw new ConfigError(name, `expected ${expected}`);
      return raw;
    },
  };
}

/** Any value, never repeated in a message (client ids, secrets, file paths, tokens). */
export const text: Parser<string> = { accepts: 'any text', read: (raw) => raw };

/** A Salesforce REST API version (see api-version.ts). */
export const apiVersion: Parser<string> = {
  accepts: `a version such as ${API_VERSION_EXAMPLE}`,
  read(raw, name) {
    if (!isApiVersion(raw)) {
      throw new ConfigError(
        name,
        `expected a version such as ${API_VERSION_EXAMPLE}, got ${JSON.stringify(raw)}`,
      );
    }
    return raw;
  },
};

/** REDIS_URL in any of its forms (see parseRedisUrl); a message never repeats the password. */
export const redisUrl: Parser<string> = {
  accepts: 'redis://, rediss://, a cluster or a Sentinel URL',
  read(raw, name) {
    parseRedisUrl(raw, name);
    return raw;
  },
};

const HTTPS_REQUIRED =
  'must be an https:// URL (http:// is allowed only for loopback, or anywhere with SF_ALLOW_HTTP=on)';

/**
 * An http(s) origin: scheme, host and port, nothing else (a trailing `/` is dropped). Whether
 * http:// is allowed depends on the host and SF_ALLOW_HTTP: a rule of env-config.ts.
 */
export const origin: Parser<string> = {
  accepts: 'an https:// origin',
  read(raw, name) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(name, 'expected a URL such as https://mydomain.my.salesforce.com');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError(name, HTTPS_REQUIRED);
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new ConfigError(name, 'must be a bare origin without credentials, query or fragment');
    }
    return url.origin;
  },
};

/** The message of an http:// origin where only https:// is allowed. */
export function httpsRequired(name: string): ConfigError {
  return new ConfigError(name, HTTPS_REQUIRED);
}

/** Comma-separated, each entry trimmed; an empty default (`''`) is the empty list. */
function list<T>(
  accepts: string,
  empty: string,
  check: (entries: string[], name: string) => T[],
): Parser<T[]> {
  return {
    accepts,
    read(raw, name) {
      if (raw === '') return [];
      const entries = raw.split(',').map((entry) => entry.trim());
      if (entries.some((entry) => entry.length === 0)) {
        throw new ConfigError(name, `contains an empty ${empty} (check for stray commas)`);
      }
      return check(entries, name);
    },
  };
}

/** Bearer tokens, 16+ printable ASCII characters each; a message never repeats one. */
export const tokenList: Parser<string[]> = list(
  'tokens of 16+ printable ASCII characters',
  'token',
  (tokens, name) => {
    if (tokens.some((t) => t.length < 16)) {
      throw new ConfigError(name, 'every token must be at least 16 characters long');
    }
    if (tokens.some((t) => !/^[\x21-\x7e]+$/.test(t))) {
      throw new ConfigError(name, 'tokens must be printable ASCII without spaces');
    }
    return tokens;
  },
);

/** Flow input API names: a letter, then letters, digits or `_`. */
export const inputNameList: Parser<string[]> = list(
  'flow input API names',
  'name',
  (names, name) => {
    const bad = names.find((n) => !/^[A-Za-z][A-Za-z0-9_]{0,79}$/.test(n));
    if (bad !== undefined) {
      throw new ConfigError(
        name,
        `expected flow input API names (a letter, then letters, digits or "_"), got ${JSON.stringify(bad)}`,
      );
    }
    return names;
  },
);

/**
 * Queue partition numbers, each once, in ascending order. That each is below QUEUE_PARTITIONS is
 * a rule of env-config.ts.
 */
export const partitionList: Parser<number[]> = list('partition numbers', 'entry', (parts, name) => {
  const bad = parts.find((p) => !/^\d{1,4}$/.test(p));
  if (bad !== undefined) {
    throw new ConfigError(
      name,
      `expected partition numbers (0 to QUEUE_PARTITIONS − 1), got ${JSON.stringify(bad)}`,
    );
  }
  const numbers = parts.map(Number);
  if (new Set(numbers).size !== numbers.length) {
    throw new ConfigError(name, 'names a partition twice');
  }
  return numbers.sort((a, b) => a - b);
});
