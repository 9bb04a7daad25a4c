import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisConnection } from './redis-connection.js';

/**
 * Marks a template literal as Lua, for editors that highlight tagged templates, and keeps its text
 * verbatim (`String.raw`: a `\n` inside a Lua string stays for Lua to read). It takes no
 * interpolations, so a script's text, and with it its SHA, is fixed when the module loads.
 */
export function lua(strings: TemplateStringsArray, ...nothing: never[]): string {
  if (nothing.length > 0) throw new TypeError('a Lua script takes no interpolated values');
  return String.raw({ raw: strings.raw });
}

/** A value passed to a script: Redis hands every ARGV to Lua as a string. */
export type ScriptValue = string | number;

type Names = readonly string[];

/** What a script is: its named KEYS and ARGV, its Lua, and how to read its reply. */
export interface ScriptSpec<K extends Names, A extends Names, R> {
  /** A name for logs and the ioredis command (letters, digits, `_`). */
  name: string;
  /**
   * KEYS, in order; the Lua reads them as `KEY.<name>`. On a Redis Cluster every key of one call
   * must be in one slot (ours are hash-tagged per partition, see redis-keys.ts).
   */
  keys: K;
  /** ARGV, in order; the Lua reads them as `ARG.<name>` (strings, as Redis passes them). */
  args: A;
  /**
   * The script takes further KEYS after the named ones (a variable set, e.g. one per chunk);
   * the Lua finds the first at `KEYS[FIRST_EXTRA_KEY]`.
   */
  extraKeys?: boolean;
  /** Likewise for ARGV: the first extra is `ARGV[FIRST_EXTRA_ARG]`. */
  extraArgs?: boolean;
  /** The body, after the prelude that names KEYS and ARGV (see `lua`). */
  lua: string;
  /** Reads the raw reply into the script's result; throws a ScriptReplyError on a shape it does not expect. */
  reply: (raw: unknown) => R;
}

/** The keys of one call, by name. */
export type ScriptKeys<K extends Names> = { readonly [P in K[number]]: string };
/** The arguments of one call, by name. */
export type ScriptArgs<A extends Names> = { readonly [P in A[number]]: ScriptValue };
/** Extra KEYS and ARGV of one call, for a script that declares them. */
export interface ScriptExtras {
  keys?: readonly string[];
  args?: readonly ScriptValue[];
}

/** A script answered something its reader does not expect (a script and its caller disagree). */
export class ScriptReplyError extends Error {
  override readonly name = 'ScriptReplyError';
  readonly code = 'SCRIPT_REPLY_UNEXPECTED';

  constructor(
    /** The script's name. */
    readonly script: string,
    expected: string,
  ) {
    super(`Redis script ${script} answered something other than ${expected}`);
  }
}

/**
 * One Lua script with named KEYS and ARGV, run through ioredis.
 *
 * `run` sends it as a command defined once per connection (ioredis `defineCommand`): the first
 * call on each socket sends EVAL with the body, later ones EVALSHA, and a NOSCRIPT (the server's
 * script cache was flushed, a failover) is answered by sending the body again. The command's
 * name carries the script's SHA, so two versions of a script never share one.
 *
 * `queue` puts it into a transaction or pipeline as a plain EVAL with its body. EVALSHA of a
 * script the server does not hold fails only at EXEC, after the transaction's other commands
 * have run; EVAL cannot, and our scripts are a few hundred bytes.
 *
 * The Lua starts with a one-line prelude, `local KEY, ARG = {…}, {…}`, that names KEYS and ARGV
 * as the spec does, so a script reads `KEY.permits` where it used to read `KEYS[1]`, and the
 * names on both sides cannot drift apart.
 */
export class RedisScript<K extends Names, A extends Names, R> {
  readonly name: string;
  /** The full Lua sent to Redis (prelude and body). */
  readonly source: string;
  readonly sha: string;
  readonly #command: string;
  readonly #spec: ScriptSpec<K, A, R>;

  constructor(spec: ScriptSpec<K, A, R>) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(spec.name))
      throw new TypeError(`script name ${JSON.stringify(spec.name)} is not a plain identifier`);
    this.#spec = spec;
    this.name = spec.name;
    this.source = prelude(spec) + spec.lua;
    this.sha = createHash('sha1').update(this.source).digest('hex');
    this.#command = `fd_${spec.name}_${this.sha.slice(0, 12)}`;
  }

  /** Runs the script on `redis` and reads its reply. */
  async run(
    redis: RedisConnection,
    keys: ScriptKeys<K>,
    args: ScriptArgs<A>,
    extras?: ScriptExtras,
  ): Promise<R> {
    const commands = redis as unknown as Record<string, unknown>;
    if (typeof commands[this.#command] !== 'function')
      redis.defineCommand(this.#command, { lua: this.source });
    const command = commands[this.#command] as (...argv: ScriptValue[]) => Promise<unknown>;
    const argv = this.#argv(keys, args, extras);
    return this.#spec.reply(await command.apply(redis, argv));
  }

  /**
   * Queues the script into `tx` (a MULTI or a pipeline); its raw reply is among the replies of
   * `exec`.
   */
  queue(tx: ChainableCommander, keys: ScriptKeys<K>, args: ScriptArgs<A>, extras?: ScriptExtras) {
    tx.eval(this.source, ...this.#argv(keys, args, extras));
  }

  /** Reads a raw reply (one taken from a transaction's replies) as `run` would. */
  read(raw: unknown): R {
    return this.#spec.reply(raw);
  }

  /** `numkeys, ...KEYS, ...ARGV` in the spec's order. */
  #argv(
    keys: ScriptKeys<K>,
    args: ScriptArgs<A>,
    extras?: ScriptExtras,
  ): [number, ...ScriptValue[]] {
    const spec = this.#spec;
    if (extras?.keys?.length && !spec.extraKeys)
      throw new TypeError(`script ${spec.name} takes no extra keys`);
    if (extras?.args?.length && !spec.extraArgs)
      throw new TypeError(`script ${spec.name} takes no extra arguments`);
    const keyList: string[] = spec.keys.map((name: K[number]) => keys[name]);
    keyList.push(...(extras?.keys ?? []));
    const argList: ScriptValue[] = spec.args.map((name: A[number]) => args[name]);
    argList.push(...(extras?.args ?? []));
    return [keyList.length, ...keyList, ...argList];
  }
}

/** Declares a script (see RedisScript); `keys` and `args` are best written `as const`. */
export function defineScript<const K extends Names, const A extends Names, R>(
  spec: ScriptSpec<K, A, R>,
): RedisScript<K, A, R> {
  return new RedisScript(spec);
}

const LUA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `local KEY, ARG = { a = KEYS[1], … }, { … }`, on one line of its own: Lua's line numbers in an
 * error are the body's plus one.
 */
function prelude(spec: ScriptSpec<Names, Names, unknown>): string {
  const table = (names: Names, array: string, what: string) => {
    const seen = new Set<string>();
    const fields = names.map((name, i) => {
      if (!LUA_NAME.test(name) || seen.has(name))
        throw new TypeError(
          `script ${spec.name}: ${what} name ${JSON.stringify(name)} is not a distinct Lua name`,
        );
      seen.add(name);
      return `${name} = ${array}[${i + 1}]`;
    });
    return `{ ${fields.join(', ')} }`;
  };
  let line = `local KEY, ARG = ${table(spec.keys, 'KEYS', 'key')}, ${table(spec.args, 'ARGV', 'argument')}`;
  if (spec.extraKeys) line += ` local FIRST_EXTRA_KEY = ${spec.keys.length + 1}`;
  if (spec.extraArgs) line += ` local FIRST_EXTRA_ARG = ${spec.args.length + 1}`;
  return `${line}\n`;
}

/** Reads an integer reply. */
export function integerReply(script: string, raw: unknown): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw))
    throw new ScriptReplyError(script, 'an integer');
  return raw;
}

/** Reads an array reply of `length` items (any length when omitted). */
export function arrayReply(script: string, raw: unknown, length?: number): unknown[] {
  if (!Array.isArray(raw) || (length !== undefined && raw.length !== length))
    throw new ScriptReplyError(script, length === undefined ? 'an array' : `an array of ${length}`);
  return raw;
}
