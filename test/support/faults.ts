import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeTriggerRecord,
  isTerminal,
  parseTriggerId,
  type RedisConnection,
  RedisKeys,
} from '@flow-dispatcher/shared';
import type {
  RecordedCall,
  SimulatorConfigPatch,
  SimulatorStats,
} from '@flow-dispatcher/simulator';
import { Redis } from 'ioredis';
import { CliProcess } from './cli-process.js';

/**
 * Helpers of the fault, fuzz and security tests (test/fault-*, test/fuzz-*, test/security-*).
 *
 * A fault test runs a stream of triggers with unique IndividualIds through real processes, does
 * damage, and ends with an audit: what producers were told (accepted) against what the simulator
 * received (its deliveries map).
 */

// ── the simulator, in this process or in another ─────────────────────────────────────────────

/** What a test reads of a simulator running in another process. */
export interface SimulatorView {
  readonly url: string;
  stats(): Promise<SimulatorStats>;
  deliveries(): Promise<Map<string, number>>;
  calls(since?: number): Promise<RecordedCall[]>;
  configure(patch: SimulatorConfigPatch): Promise<void>;
  close(): Promise<void>;
}

/**
 * `flow-dispatcher simulator` as a child process, driven through its `/__sim/*` admin endpoints:
 * for tests whose own process is busy producing, or that must not share an event loop with it.
 */
export async function startSimulatorProcess(
  patch: SimulatorConfigPatch = {},
): Promise<SimulatorView & { process: CliProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'fd-sim-'));
  const file = join(dir, 'simulator.json');
  writeFileSync(file, JSON.stringify(patch));
  const child = new CliProcess(['simulator', '--config', file], {});
  let url: string;
  try {
    const line = await child.waitForLine(/"event":"listening"/);
    url = (JSON.parse(line) as { url: string }).url;
  } catch (err) {
    await child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const admin = async <T>(path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}/__sim/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${path}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    url,
    process: child,
    stats: () => admin<SimulatorStats>('stats'),
    deliveries: async () =>
      new Map(Object.entries(await admin<Record<string, number>>('deliveries'))),
    calls: (since = 0) => admin<RecordedCall[]>(`calls?since=${since}`),
    configure: async (config) => {
      await admin('config', config);
    },
    close: async () => {
      await child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ── the audit ──────────────────────────────────────────────────────────────────────────────

export interface DeliveryAudit {
  /** IndividualIds a producer was told were stored. */
  accepted: number;
  /** Accepted ones the simulator ran at least once. */
  delivered: number;
  /** Accepted ones it never ran. */
  lost: number;
  /** A few of the lost ones, to look at. */
  lostSample: string[];
  /** Interviews beyond the first, for accepted IndividualIds. */
  duplicated: number;
  /** The IndividualIds that ran more than once. */
  duplicatedIds: string[];
  /**
   * IndividualIds the simulator ran that no producer was told were stored: requests that were
   * answered with an error (or not answered) but whose write had landed. Not a loss; worth a line.
   */
  unacknowledgedDelivered: number;
}

/**
 * The calls one worker process made, from the simulator's record: a worker sends
 * `User-Agent: flow-dispatcher/<version> (worker <hostname>:<pid>)`.
 */
export function callsOfWorker(calls: readonly RecordedCall[], pid: number): RecordedCall[] {
  const tag = `(worker ${hostname()}:${pid})`;
  return calls.filter(
    (call) => call.userAgent?.startsWith('flow-dispatcher/') && call.userAgent.endsWith(tag),
  );
}

/**
 * Of `ids` (trigger ids), those with no final outcome recorded in Redis yet: not sent, or sent
 * and not answered, or answered and not yet recorded by the worker.
 */
export async function unrecordedTriggers(
  redis: RedisConnection,
  prefix: string,
  ids: readonly string[],
): Promise<string[]> {
  const keys = new RedisKeys(prefix);
  const pipeline = redis.pipeline();
  for (const id of ids) {
    const address = parseTriggerId(id);
    if (!address) throw new Error(`not a trigger id: ${id}`);
    pipeline.hget(
      keys.forPartition(address.partition).outcomes(address.chunkId),
      String(address.index),
    );
  }
  const replies = (await pipeline.exec()) ?? [];
  return ids.filter((_, i) => {
    const [err, raw] = replies[i] ?? [new Error('no reply'), null];
    if (err) throw err;
    return !isTerminal(decodeTriggerRecord(raw as string | null));
  });
}

/** Compares what producers were told with what the simulator received. */
export function auditDeliveries(
  accepted: Iterable<string>,
  deliveries: Map<string, number>,
): DeliveryAudit {
  const acceptedSet = accepted instanceof Set ? (accepted as Set<string>) : new Set(accepted);
  const lost: string[] = [];
  const duplicatedIds: string[] = [];
  let delivered = 0;
  let duplicated = 0;
  for (const id of acceptedSet) {
    const count = deliveries.get(id) ?? 0;
    if (count === 0) lost.push(id);
    else {
      delivered++;
      if (count > 1) {
        duplicated += count - 1;
        duplicatedIds.push(id);
      }
    }
  }
  let unacknowledgedDelivered = 0;
  for (const id of deliveries.keys()) if (!acceptedSet.has(id)) unacknowledgedDelivered++;
  return {
    accepted: acceptedSet.size,
    delivered,
    lost: lost.length,
    lostSample: lost.slice(0, 10),
    duplicated,
    duplicatedIds,
    unacknowledgedDelivered,
  };
}

/**
 * Prints a test's figures on one line (`[figures] name {...}`), and appends them as JSON to
 * FD_FIGURES_FILE when it is set: that is where docs/reliability.md takes its numbers from.
 */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({
    name,
    node: process.version,
    at: new Date().toISOString(),
    ...figures,
  });
  console.log(`[figures] ${line}`);
  const file = process.env.FD_FIGURES_FILE;
  if (file) appendFileSync(file, `${line}\n`);
}

// ── traffic ────────────────────────────────────────────────────────────────────────────────

/** Distinct 18-character IndividualIds: `0PK` + tag + a zero-padded counter. */
export function peopleIds(tag: string, count: number, from = 0): string[] {
  if (tag.length > 6) throw new Error('tag: at most 6 characters');
  return Array.from(
    { length: count },
    (_, i) => `0PK${tag}${String(from + i).padStart(15 - tag.length, '0')}`,
  );
}

export type SendOutcome = 'accepted' | 'refused' | 'failed';

export interface TrafficOptions {
  /** IndividualIds to send, in order. */
  ids: readonly string[];
  /** Sends one batch; says what the producer was told. */
  send: (batch: string[]) => Promise<{ outcome: SendOutcome; detail?: string }>;
  /** IndividualIds per send. @defaultValue 1 */
  batch?: number;
  /** Sends in flight at once. @defaultValue 4 */
  concurrency?: number;
  /** Triggers per second, all lanes together; unset: as fast as answers come. */
  ratePerSecond?: number;
  /** Wait after a refusal or failure before the lane sends again. @defaultValue 50 */
  backoffMs?: number;
}

/**
 * A stream of triggers through some producer (the library, or ingest over HTTP). Each batch is
 * sent once: a refused or failed batch is counted, not retried, so `accepted` is exactly what
 * producers were told was stored.
 */
export class Traffic {
  /** IndividualId → epoch ms of the acknowledgement. */
  readonly accepted = new Map<string, number>();
  /** IndividualId → epoch ms its (last) send began. */
  readonly sentAt = new Map<string, number>();
  /** Batches refused (an answer saying "not stored"), by detail (e.g. HTTP status/code). */
  readonly refused = new Map<string, number>();
  /** Batches that got no answer (connection errors), by detail. */
  readonly failed = new Map<string, number>();
  /** IndividualIds sent but not acknowledged. */
  readonly unacknowledged = new Set<string>();
  /** IndividualId → the detail of the (last) refusal or failure it got. */
  readonly answeredAs = new Map<string, string>();
  #next = 0;
  #stopped = false;
  #startedAt = 0;
  #issued = 0;
  #done: Promise<void> | undefined;

  constructor(private readonly options: TrafficOptions) {}

  get sent(): number {
    return this.#next;
  }

  get finished(): boolean {
    return this.#next >= this.options.ids.length;
  }

  get refusals(): number {
    let n = 0;
    for (const count of this.refused.values()) n += count;
    return n;
  }

  get failures(): number {
    let n = 0;
    for (const count of this.failed.values()) n += count;
    return n;
  }

  start(): this {
    this.#startedAt = Date.now();
    const lanes = Array.from({ length: this.options.concurrency ?? 4 }, () => this.#lane());
    this.#done = Promise.all(lanes).then(() => {});
    return this;
  }

  /** Resolves when every id was sent (or `stop` was called) and every answer is in. */
  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  /** Stops sending; answers still awaited are recorded. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.done;
  }

  async #lane(): Promise<void> {
    const { ids, send, ratePerSecond } = this.options;
    const size = this.options.batch ?? 1;
    while (!this.#stopped && this.#next < ids.length) {
      const batch = ids.slice(this.#next, this.#next + size);
      this.#next += batch.length;
      if (ratePerSecond !== undefined) {
        const dueAt = this.#startedAt + (this.#issued / ratePerSecond) * 1_000;
        this.#issued += batch.length;
        const waitMs = dueAt - Date.now();
        if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
      let answer: { outcome: SendOutcome; detail?: string };
      const sentAt = Date.now();
      for (const id of batch) this.sentAt.set(id, sentAt);
      try {
        answer = await send(batch);
      } catch (err) {
        answer = { outcome: 'failed', detail: errorLabel(err) };
      }
      if (answer.outcome === 'accepted') {
        const at = Date.now();
        for (const id of batch) this.accepted.set(id, at);
        continue;
      }
      const tally = answer.outcome === 'refused' ? this.refused : this.failed;
      const detail = answer.detail ?? answer.outcome;
      for (const id of batch) {
        this.unacknowledged.add(id);
        this.answeredAs.set(id, detail);
      }
      tally.set(detail, (tally.get(detail) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, this.options.backoffMs ?? 50));
    }
  }
}

function errorLabel(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'error';
}

// ── processes ──────────────────────────────────────────────────────────────────────────────

/**
 * `flow-dispatcher worker` processes sharing one environment: start some, SIGKILL one, start
 * another. Every process ever started is kept (`all`) so a test can read their output.
 */
export class WorkerFleet {
  readonly all: CliProcess[] = [];
  live: CliProcess[] = [];
  kills = 0;

  constructor(readonly env: Record<string, string>) {}

  async start(count = 1): Promise<CliProcess[]> {
    // Registered before they are ready, so that a worker that never gets ready is still killed
    // by `killAll` instead of outliving the test.
    const started = Array.from({ length: count }, () => new CliProcess(['worker'], this.env));
    this.all.push(...started);
    this.live.push(...started);
    await Promise.all(started.map((worker) => worker.waitForLine(/"msg":"worker ready"/)));
    return started;
  }

  /**
   * The live worker with the most calls in flight (read from each one's /metrics), and that
   * number: killing it is the harshest kill.
   */
  async busiest(): Promise<{ index: number; inflight: number }> {
    const inflight = await Promise.all(
      this.live.map(async (worker) => {
        const line = await worker.waitForLine(/"msg":"worker ready"/);
        const { metricsPort } = JSON.parse(line) as { metricsPort: number };
        const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
        const sample = /^flow_dispatcher_inflight_calls(?:\{[^}]*\})? (\d+)/m.exec(text);
        return Number(sample?.[1] ?? 0);
      }),
    );
    let index = 0;
    inflight.forEach((n, i) => {
      if (n > (inflight[index] ?? 0)) index = i;
    });
    return { index, inflight: inflight[index] ?? 0 };
  }

  /**
   * SIGSTOPs the live worker at `index`, runs `whileFrozen` (to read what the worker left behind
   * at that instant: it does nothing more until it dies), then SIGKILLs it.
   */
  async killFrozen<T>(index: number, whileFrozen: (victim: CliProcess) => Promise<T>): Promise<T> {
    const victim = this.live[index];
    if (!victim) throw new Error(`no live worker at ${index}`);
    victim.child.kill('SIGSTOP');
    try {
      return await whileFrozen(victim);
    } finally {
      this.live.splice(this.live.indexOf(victim), 1);
      this.kills++;
      await victim.kill('SIGKILL');
    }
  }

  /** SIGKILLs the live worker at `index` (the oldest by default). */
  async kill(index = 0): Promise<void> {
    const victim = this.live[index];
    if (!victim) throw new Error(`no live worker at ${index}`);
    this.live.splice(index, 1);
    this.kills++;
    await victim.kill('SIGKILL');
  }

  /** SIGTERM to every live worker (graceful), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const stopping = this.live.splice(0);
    await Promise.all(
      stopping.map(async (worker) => {
        const timer = setTimeout(() => worker.kill('SIGKILL'), graceMs);
        await worker.kill('SIGTERM');
        clearTimeout(timer);
      }),
    );
  }

  /** SIGKILL to every live worker. */
  async killAll(): Promise<void> {
    await Promise.all(this.live.splice(0).map((worker) => worker.kill('SIGKILL')));
  }

  /** Everything every worker wrote. */
  get output(): string {
    return this.all.map((worker) => worker.output).join('\n');
  }
}

/** Resident set size of a process, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

// ── Redis ──────────────────────────────────────────────────────────────────────────────────

/**
 * The keys under a prefix grouped by kind: `out` (trigger records), `idem` (idempotency keys),
 * `job` (BullMQ chunk job hashes and their lock/log companions), `q:<suffix>` (a flow queue's own
 * structures), and the fixed keys by name.
 */
export async function keyCensus(url: string, prefix: string): Promise<Record<string, number>> {
  const redis = new Redis(url);
  const census: Record<string, number> = {};
  try {
    const stream = redis.scanStream({ match: `{${prefix}}*`, count: 2_000 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      for (const key of batch) {
        const kind = keyKind(key.slice(prefix.length + 3));
        census[kind] = (census[kind] ?? 0) + 1;
      }
    }
  } finally {
    redis.disconnect();
  }
  return census;
}

function keyKind(rest: string): string {
  if (rest.startsWith('out:')) return 'out';
  if (rest.startsWith('idem:')) return 'idem';
  if (rest.startsWith('stats:')) return 'stats';
  if (rest.startsWith('q:')) {
    // q:<flow>:<jobId>[:lock|:logs] or q:<flow>:<structure>
    const [, , ...tail] = rest.split(':');
    if (tail[0]?.startsWith('c') && /^c[0-9a-z]{9}/.test(tail[0])) return 'job';
    return `q:${tail.join(':')}`;
  }
  return rest;
}

/** Total keys of a census. */
export function censusTotal(census: Record<string, number>): number {
  return Object.values(census).reduce((a, b) => a + b, 0);
}

// ── a recording proxy in front of the simulator ───────────────────────────────────────────

export interface RecordedRequest {
  method: string;
  /** The request target exactly as the client sent it (not normalised). */
  path: string;
  status: number;
  /** Epoch ms the request arrived at the proxy. */
  at: number;
}

/**
 * An HTTP proxy that forwards everything to `target` and records each request's method and raw
 * path, and every access token the token endpoint hands out. Start it before the simulator, start
 * the simulator on a known port with `publicUrl: proxy.url` (so that the `instance_url` of its
 * tokens, and so every API call, goes through the proxy too), and set `target` to
 * `http://127.0.0.1:<that port>` (the simulator's `url` is then the proxy's).
 */
export interface RecordingProxy {
  readonly url: string;
  target: string;
  readonly requests: RecordedRequest[];
  readonly accessTokens: Set<string>;
  close(): Promise<void>;
}

export async function startRecordingProxy(): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const accessTokens = new Set<string>();
  const proxy: { target: string } = { target: '' };
  const server = createServer((req, res) => {
    const at = Date.now();
    const target = new URL(proxy.target);
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        const status = answer.statusCode ?? 0;
        requests.push({ method: req.method ?? '', path: req.url ?? '', status, at });
        res.writeHead(status, answer.headers);
        if (req.url?.startsWith('/services/oauth2/token')) {
          const parts: Buffer[] = [];
          answer.on('data', (part: Buffer) => parts.push(part));
          answer.on('end', () => {
            const body = Buffer.concat(parts);
            try {
              const token = (JSON.parse(body.toString('utf8')) as { access_token?: unknown })
                .access_token;
              if (typeof token === 'string') accessTokens.add(token);
            } catch {
              // not a token answer
            }
            res.end(body);
          });
        } else answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', status: 0, at });
      res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get target() {
      return proxy.target;
    },
    set target(value: string) {
      proxy.target = value;
    },
    requests,
    accessTokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ── throwaway TLS material ────────────────────────────────────────────────────────────────

/**
 * A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and
 * localhost, made with Debian's `openssl`, in `dir`: `ca.pem`, `server.pem`, `server-key.pem`.
 */
export function makeTlsMaterial(
  dir: string,
  bin = 'openssl',
): { ca: string; cert: string; key: string } {
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const result = spawnSync(bin, args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`openssl ${args[0]} failed: ${result.stderr || result.error?.message}`);
    }
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=fd-test-ca',
    '-keyout',
    at('ca-key.pem'),
    '-out',
    at('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    at('server-key.pem'),
    '-out',
    at('server.csr'),
  );
  writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'x509',
    '-req',
    '-in',
    at('server.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca-key.pem'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    at('server.ext'),
    '-out',
    at('server.pem'),
  );
  return { ca: at('ca.pem'), cert: at('server.pem'), key: at('server-key.pem') };
}
