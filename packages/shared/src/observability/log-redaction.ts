/** What a censored value is replaced with. */
export const CENSOR = '[redacted]';

/**
 * Field names whose values never reach a log line, at any depth (compared case-insensitively):
 * credentials, the personal data of the standard flow inputs, and trigger inputs themselves.
 * Flow-specific inputs are added with LOG_REDACT_INPUTS.
 */
export const REDACTED_KEYS: readonly string[] = [
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'token',
  'tokens',
  'idToken',
  'id_token',
  'clientSecret',
  'client_secret',
  'secret',
  'password',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'assertion',
  'privateKey',
  'apiKey',
  'api_key',
  'EmailAddress',
  'Email',
  'TelephoneNumber',
  'Phone',
  'MobilePhone',
  'input',
  'inputs',
];

/**
 * Keys whose numeric value is a count, not data (`inputs: 200` on a call line), and so is kept.
 * Their other values (the payload itself) are censored.
 */
const COUNT_KEYS = new Set(['input', 'inputs', 'tokens']);

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** International numbers (E.164 and its usual spellings): a '+' and at least 7 digits. */
const PHONE = /\+\d(?:[\s().-]{0,2}\d){6,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=!-]+/gi;
/** A Salesforce session id (access token): org id, '!', opaque rest. */
const SESSION_ID = /\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]+/g;
/** The password of a URL such as redis://user:password@host. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]+@/gi;

/** Replaces e-mail addresses, phone numbers, bearer tokens, session ids and URL passwords in text. */
export function scrubText(text: string): string {
  return text
    .replace(EMAIL, '[email]')
    .replace(PHONE, '[phone]')
    .replace(BEARER, '$1 [redacted]')
    .replace(SESSION_ID, CENSOR)
    .replace(URL_PASSWORD, '$1:[redacted]@');
}

const MAX_DEPTH = 10;

/**
 * A copy of a log argument that is safe to write: values of redacted keys censored at any depth,
 * strings scrubbed, errors turned into plain objects (type, message, stack, code and their other
 * own fields, all redacted the same way). An error from Redis keeps its command's name only, never
 * its arguments, and its reply text only where Redis fixes it (see FIXED_TEXT_REPLIES). Pure;
 * cycles and very deep values are censored.
 */
export function redactForLog(value: unknown, keys: ReadonlySet<string>): unknown {
  return redactValue(value, keys, 0, new WeakSet());
}

/** The lower-cased key set for `redactForLog`: REDACTED_KEYS plus `extra` (input names). */
export function redactionKeys(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...REDACTED_KEYS, ...extra].map((key) => key.toLowerCase()));
}

function redactValue(
  value: unknown,
  keys: ReadonlySet<string>,
  depth: number,
  seen: WeakSet<object>,
): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return CENSOR;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, keys, depth + 1, seen));
  if (value instanceof Error) return redactError(value, keys, depth, seen);
  if (value instanceof Date) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = redactEntry(key, inner, keys, depth, seen);
  }
  return copy;
}

function redactEntry(
  key: string,
  value: unknown,
  keys: ReadonlySet<string>,
  depth: number,
  seen: WeakSet<object>,
): unknown {
  const name = key.toLowerCase();
  if (keys.has(name)) {
    if (COUNT_KEYS.has(name) && typeof value === 'number') return value;
    return value === undefined ? undefined : CENSOR;
  }
  return redactValue(value, keys, depth + 1, seen);
}

/**
 * Redis error replies whose text is fixed by Redis and so cannot quote a command's arguments (the
 * first word of the reply). Any other reply, `ERR …` above all ("unknown command …, with args
 * beginning with: …", a script's own error text) or `NOPERM` (which may name a key), is logged by
 * its first word alone.
 */
const FIXED_TEXT_REPLIES = new Set([
  'OOM',
  'READONLY',
  'LOADING',
  'BUSY',
  'BUSYKEY',
  'NOSCRIPT',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'CROSSSLOT',
  'EXECABORT',
  'WRONGTYPE',
  'MOVED',
  'ASK',
  'NOREPLICAS',
  'MISCONF',
  'NOAUTH',
  'WRONGPASS',
  'UNBLOCKED',
]);

/**
 * The command an ioredis error carries (`command: {name, args}`, set on every error reply and on
 * some client-side failures), or undefined. Its args hold whatever was written: a dead letter's
 * whole input, a trigger's key.
 */
function redisCommand(err: Error): { name: string } | undefined {
  const command = (err as { command?: unknown }).command;
  if (typeof command !== 'object' || command === null) return undefined;
  const name = (command as { name?: unknown }).name;
  return typeof name === 'string' ? { name } : undefined;
}

/** A Redis reply's text as it may be logged: whole when Redis fixes it, else its first word. */
function redisReplyText(message: string): string {
  const code = /^[A-Z]+/.exec(message)?.[0];
  if (code !== undefined && FIXED_TEXT_REPLIES.has(code)) return message;
  return `${code ?? 'Redis error'} (the rest withheld: it can quote the command's arguments)`;
}

function redactError(
  err: Error,
  keys: ReadonlySet<string>,
  depth: number,
  seen: WeakSet<object>,
): Record<string, unknown> {
  // An error from Redis: its name, code and command name are kept, never the command's arguments,
  // nor a reply text that may quote them.
  const command = redisCommand(err);
  const fromRedis = command !== undefined || err.name === 'ReplyError';
  const message = fromRedis ? redisReplyText(err.message) : err.message;
  const stack =
    err.stack && fromRedis && err.message !== ''
      ? err.stack.split(err.message).join(message)
      : err.stack;
  const copy: Record<string, unknown> = {
    type: err.name,
    message: scrubText(message),
    ...(stack ? { stack: scrubText(stack) } : {}),
    ...(command ? { command } : {}),
  };
  for (const [key, inner] of Object.entries(err)) {
    if (key in copy || key === 'cause') continue;
    copy[key] = redactEntry(key, inner, keys, depth, seen);
  }
  if (err.cause !== undefined) copy.cause = redactValue(err.cause, keys, depth + 1, seen);
  return copy;
}
