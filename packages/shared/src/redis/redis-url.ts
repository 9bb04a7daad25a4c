import { ConfigError } from '../config/config-error.js';

/** One server address. */
export interface RedisAddress {
  host: string;
  port: number;
}

/** What a REDIS_URL names: one server, a Redis Cluster, or a master found through Sentinel. */
export type RedisTarget =
  | {
      kind: 'node';
      /** The URL as given: ioredis reads it (password, TLS, db, options). */
      url: string;
    }
  | {
      kind: 'cluster';
      /** Seed nodes: ioredis learns the rest of the cluster from any of them. */
      nodes: RedisAddress[];
      username: string | undefined;
      password: string | undefined;
      tls: boolean;
    }
  | {
      kind: 'sentinel';
      sentinels: RedisAddress[];
      /** The master's name as the sentinels know it. */
      masterName: string;
      username: string | undefined;
      /** The master's (and its replicas') password; the sentinels are reached without one. */
      password: string | undefined;
      tls: boolean;
      db: number;
    };

const SCHEMES: Record<string, { kind: 'node' | 'cluster' | 'sentinel'; tls: boolean }> = {
  redis: { kind: 'node', tls: false },
  rediss: { kind: 'node', tls: true },
  'redis+cluster': { kind: 'cluster', tls: false },
  'rediss+cluster': { kind: 'cluster', tls: true },
  'redis+sentinel': { kind: 'sentinel', tls: false },
  'rediss+sentinel': { kind: 'sentinel', tls: true },
};

const FORMS =
  'redis://[:password@]host:port[/db], rediss://…, redis://[:password@]host1:port1,host2:port2,… (a Redis Cluster), or redis+sentinel://[:password@]sentinel1:26379,sentinel2:26379/masterName';

/**
 * Reads a REDIS_URL (pure). The forms:
 *
 * - `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS): one server, read by ioredis
 *   itself as before;
 * - `redis://[user:password@]host1:port1,host2:port2,…` (or `rediss://`, or `redis+cluster://`
 *   with one or more seeds, e.g. a managed cluster's configuration endpoint): a Redis Cluster;
 * - `redis+sentinel://[user:password@]s1[:26379],s2…/masterName[/db]` (or `rediss+sentinel://`):
 *   the master `masterName` as Sentinel reports it, followed through failovers.
 *
 * A bad URL is a ConfigError naming `variable`; the message never repeats the URL (it may hold a
 * password).
 */
export function parseRedisUrl(raw: string, variable = 'REDIS_URL'): RedisTarget {
  const fail = (reason: string) => new ConfigError(variable, `${reason}; expected ${FORMS}`);
  const match = /^([a-z+]+):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(raw.trim());
  if (!match) throw fail('is not a URL');
  const [, rawScheme = '', authority = '', path = '', query = '', fragment = ''] = match;
  const scheme = SCHEMES[rawScheme.toLowerCase()];
  if (!scheme) throw fail(`has an unknown scheme ${JSON.stringify(`${rawScheme}://`)}`);
  if (fragment) throw fail('has a fragment (#…)');

  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : authority.slice(0, at);
  const hostList = at === -1 ? authority : authority.slice(at + 1);
  const { username, password } = parseUserinfo(userinfo, fail);
  const defaultPort = scheme.kind === 'sentinel' ? 26_379 : 6_379;
  const parts = hostList.split(',');
  const addresses = parts.map((part, i) =>
    parseAddress(part, defaultPort, (reason) =>
      fail(parts.length > 1 ? `${reason} (host ${i + 1} of ${parts.length})` : reason),
    ),
  );

  if (scheme.kind === 'node' && addresses.length === 1) {
    // One server: ioredis reads the URL (and its options) as it always has; check what it needs.
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw fail('is not a URL');
    }
    if (!url.hostname) throw fail('has no host');
    parseDb(path, fail);
    return { kind: 'node', url: raw.trim() };
  }
  if (query)
    throw fail(
      `takes no options (?…) in its ${scheme.kind === 'sentinel' ? 'Sentinel' : 'cluster'} form`,
    );

  if (scheme.kind === 'sentinel') {
    const segments = path.split('/').slice(1);
    const masterName = decode(segments[0] ?? '', fail);
    if (!masterName) throw fail('names no master: add /<masterName> after the sentinels');
    if (segments.length > 2) throw fail('has a path other than /masterName[/db]');
    const db = parseDb(segments.length === 2 ? `/${segments[1]}` : '', fail);
    return {
      kind: 'sentinel',
      sentinels: addresses,
      masterName,
      username,
      password,
      tls: scheme.tls,
      db,
    };
  }
  if (parseDb(path, fail) !== 0)
    throw fail('names a database other than 0 (a cluster has only db 0)');
  return { kind: 'cluster', nodes: addresses, username, password, tls: scheme.tls };
}

function parseUserinfo(
  userinfo: string | undefined,
  fail: (reason: string) => ConfigError,
): { username: string | undefined; password: string | undefined } {
  if (userinfo === undefined) return { username: undefined, password: undefined };
  const colon = userinfo.indexOf(':');
  const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
  const pass = colon === -1 ? undefined : userinfo.slice(colon + 1);
  return {
    username: user ? decode(user, fail) : undefined,
    password: pass ? decode(pass, fail) : undefined,
  };
}

function decode(text: string, fail: (reason: string) => ConfigError): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Never echo the text: it may be (part of) a password.
    throw fail('has a bad %-escape');
  }
}

// Underscores are not DNS, but Docker and Compose service names use them.
const HOST_PATTERN = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9_])?)$/;

function parseAddress(
  part: string,
  defaultPort: number,
  fail: (reason: string) => ConfigError,
): RedisAddress {
  const text = part.trim();
  if (text === '') throw fail('has an empty host (check for stray commas)');
  const bracketed = text.startsWith('[');
  const colon = bracketed ? text.indexOf(']:') + 1 : text.lastIndexOf(':');
  const host = colon > 0 ? text.slice(0, colon) : text;
  const portText = colon > 0 ? text.slice(colon + 1) : '';
  // Never echo the host or port: a password with an unescaped '/' or '@' lands in them.
  if (!HOST_PATTERN.test(host)) throw fail('has a bad host');
  let port = defaultPort;
  if (colon > 0) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65_535)) throw fail('has a bad port');
  }
  return { host: bracketed ? host.slice(1, -1) : host, port };
}

function parseDb(path: string, fail: (reason: string) => ConfigError): number {
  if (path === '' || path === '/') return 0;
  const db = /^\/(\d{1,5})$/.exec(path)?.[1];
  if (db === undefined) throw fail('has a path other than a database number (/0, /1, …)');
  return Number(db);
}

/** A REDIS_URL without its password, for messages (`***` in its place). */
export function redisUrlLabel(raw: string): string {
  const match = /^([a-z+]+:\/\/)([^/?#]*)(.*)$/i.exec(raw.trim());
  if (!match) return 'REDIS_URL';
  const [, scheme = '', authority = '', rest = ''] = match;
  const at = authority.lastIndexOf('@');
  if (at === -1) return `${scheme}${authority}${rest}`.replace(/\/$/, '');
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const masked = colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`;
  return `${scheme}${masked}@${authority.slice(at + 1)}${rest}`.replace(/\/$/, '');
}
