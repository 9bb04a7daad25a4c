import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AdminOperations, handleAdminRequest } from './admin-routes.js';
import { CallLog, type RecordedCall } from './call-log.js';
import { ConcurrencyGauge } from './concurrency-gauge.js';
import { DailyAllocation } from './daily-allocation.js';
import { handleDataRequest } from './data-routes.js';
import { DeliveryLedger } from './delivery-ledger.js';
import { FaultInjector } from './fault-injection.js';
import { FlowCatalog } from './flow-catalog.js';
import { canAnswer, sendJson, splitUrl } from './http-exchange.js';
import { InputFaultRules } from './input-faults.js';
import { type DataPath, parseDataPath, type RequestKind, requestKind } from './request-kind.js';
import { type RecordedRequest, RequestLog } from './request-log.js';
import { notFoundBody, restError } from './salesforce-errors.js';
import { createRandom, randomSeed } from './seeded-random.js';
import {
  applyConfigPatch,
  configToJson,
  defaultConfig,
  parseConfigPatch,
  type SimulatorConfigPatch,
} from './simulator-config.js';
import type { SimulatorContext } from './simulator-context.js';
import { type SimulatorStats, StatsCounters } from './simulator-stats.js';
import { handleTokenRequest } from './token-endpoint.js';
import { TokenStore } from './token-store.js';

export interface SimulatorOptions extends SimulatorConfigPatch {
  /** 0 picks a free port. @defaultValue 0 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /**
   * URL clients reach this simulator at (returned as `instance_url`, accepted as JWT `aud`).
   * @defaultValue `http://{host}:{port}`, with a wildcard host shown as loopback
   */
  publicUrl?: string;
}

export interface Simulator {
  /** e.g. `http://127.0.0.1:54321` */
  readonly url: string;
  /** Live reconfiguration: top-level keys replace, `auth` merges. Throws SimulatorConfigError. */
  configure(patch: SimulatorConfigPatch): void;
  stats(): SimulatorStats;
  /** Every invoke POST still kept, in arrival order; `since`: only calls with a larger seq. */
  calls(opts?: { since?: number }): RecordedCall[];
  /**
   * Every request to the token and /services/data endpoints still kept, in arrival order (own
   * numbering); `since`: only requests with a larger seq; `kind`: only that kind.
   */
  requests(opts?: { since?: number; kind?: RequestKind }): RecordedRequest[];
  /** IndividualId → how many of its interviews succeeded (a copy). */
  deliveries(): Map<string, number>;
  /** Clears the call and request records, deliveries, counters and fault-rule counts; usage restarts at `dailyUsed`. Tokens stay valid. */
  reset(): void;
  /** Every issued token becomes invalid now. */
  expireTokens(): void;
  /** Stops listening and drops open connections, hanging calls included. */
  close(): Promise<void>;
}

/** Starts a Salesforce look-alike on `host:port`; see the package README for what it models. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const { port = 0, host = '127.0.0.1', publicUrl, ...patch } = opts;
  const config = applyConfigPatch(defaultConfig(), parseConfigPatch(patch));
  const nowMs = Date.now();
  const ctx: SimulatorContext = {
    config,
    url: '',
    random: createRandom(config.seed ?? randomSeed()),
    tokens: new TokenStore(),
    daily: new DailyAllocation(config.dailyLimit, config.dailyWindowMs),
    gauge: new ConcurrencyGauge(),
    faults: new FaultInjector(),
    inputFaults: new InputFaultRules(),
    flows: new FlowCatalog(),
    calls: new CallLog(config.maxRecordedCalls),
    requests: new RequestLog(config.maxRecordedCalls),
    ledger: new DeliveryLedger(),
    counters: new StatsCounters(),
    timers: new Set(),
  };
  ctx.daily.restart(config.dailyUsed, nowMs);
  ctx.flows.update(config.flows, nowMs);
  ctx.inputFaults.load(config.inputFaults);
  ctx.faults.arm(config.failNext);

  const configure = (raw: unknown): void => {
    const change = parseConfigPatch(raw);
    const next = applyConfigPatch(ctx.config, change);
    const now = Date.now();
    ctx.config = next;
    if (change.flows !== undefined) ctx.flows.update(next.flows, now);
    ctx.daily.reconfigure(next.dailyLimit, next.dailyWindowMs);
    if (change.dailyUsed !== undefined) ctx.daily.restart(next.dailyUsed, now);
    if (change.inputFaults !== undefined) ctx.inputFaults.load(next.inputFaults);
    if (change.failNext !== undefined) ctx.faults.arm(next.failNext);
    if (change.seed !== undefined) ctx.random = createRandom(next.seed ?? randomSeed());
    if (change.maxRecordedCalls !== undefined) {
      ctx.calls.resize(next.maxRecordedCalls);
      ctx.requests.resize(next.maxRecordedCalls);
    }
  };

  const stats = (): SimulatorStats => {
    const { counters } = ctx;
    const deliveries = ctx.ledger.summary();
    return {
      invokeCalls: {
        total: counters.invokeTotal,
        byStatus: { ...counters.invokeByStatus },
        rolledBack: counters.invokeRolledBack,
      },
      requests: counters.requestCounts(),
      inputs: {
        received: counters.inputsReceived,
        succeeded: counters.inputsSucceeded,
        failed: counters.inputsFailed,
      },
      deliveries: {
        unique: deliveries.uniqueDelivered,
        total: deliveries.totalDelivered,
        duplicates: deliveries.duplicates,
      },
      tokenRequests: { granted: counters.tokensGranted, refused: counters.tokensRefused },
      apiUsage: ctx.daily.usage(Date.now()),
      concurrency: {
        highest: ctx.gauge.highest,
        inFlight: ctx.gauge.open,
        limit: Number.isFinite(ctx.config.maxConcurrency) ? ctx.config.maxConcurrency : null,
      },
      refusedForLimits: { daily: counters.refusedDaily, concurrency: counters.refusedConcurrency },
      refusedForAccess: {
        apiDisabled: counters.refusedApiDisabled,
        insufficientAccess: counters.refusedInsufficientAccess,
      },
      armedFaults: ctx.faults.armed(),
    };
  };

  const requests = (since: number, kind: RequestKind | undefined): RecordedRequest[] => {
    const kept = ctx.requests.since(since);
    return kind === undefined ? kept : kept.filter((request) => request.kind === kind);
  };

  const reset = (): void => {
    ctx.calls.clear();
    ctx.requests.clear();
    ctx.ledger.clear();
    ctx.counters.clear();
    ctx.inputFaults.clearCounts();
    ctx.gauge.resetHighest();
    ctx.daily.restart(ctx.config.dailyUsed, Date.now());
    // A seeded simulator replays the same random decisions after a reset.
    if (ctx.config.seed !== null) ctx.random = createRandom(ctx.config.seed);
  };

  const admin: AdminOperations = {
    stats,
    calls: (since) => ctx.calls.since(since),
    requests,
    deliveries: () => ctx.ledger.toJson(),
    deliverySummary: () => ctx.ledger.summary(),
    config: () => configToJson(ctx.config),
    configure,
    reset,
    expireTokens: () => ctx.tokens.expireAll(),
  };

  const server = createServer((req, res) => {
    route(ctx, admin, req, res)?.catch((error: unknown) => {
      if (canAnswer(res)) sendJson(res, 500, restError('UNKNOWN_EXCEPTION', String(error)));
      else res.destroy();
    });
  });
  // Keep-alive connections outlive the clients' idle timeouts, so the server never closes a
  // socket the client is about to reuse (which would surface as a spurious ECONNRESET).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  ctx.url = publicUrl ?? `http://${urlHost(address.address)}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: ctx.url,
    configure,
    stats,
    calls: (opts) => ctx.calls.since(opts?.since ?? 0),
    requests: (opts) => requests(opts?.since ?? 0, opts?.kind),
    deliveries: () => ctx.ledger.snapshot(),
    reset,
    expireTokens: () => ctx.tokens.expireAll(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of ctx.timers) clearTimeout(timer);
        ctx.timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function route(
  ctx: SimulatorContext,
  admin: AdminOperations,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> | undefined {
  const { path, query } = splitUrl(req.url ?? '/');
  if (path.startsWith('/__sim/')) {
    return handleAdminRequest(admin, ctx.config.adminAccess === 'any', req, res, path, query);
  }
  const data = path.startsWith('/services/data/') ? parseDataPath(path) : null;
  record(ctx, req, res, path, data);
  if (data !== null) return handleDataRequest(ctx, req, res, data);
  if (path === '/services/oauth2/token') return handleTokenRequest(ctx, req, res);
  req.resume();
  sendJson(res, 404, notFoundBody);
  return undefined;
}

/** Counts a Salesforce request by kind and records it; its status once the answer is written. */
function record(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  data: DataPath | null,
): void {
  const method = req.method ?? 'GET';
  const kind = requestKind(method, path, data);
  const flow = kind === 'invoke' || kind === 'describe' ? (data?.flowName ?? null) : null;
  const recorded = ctx.requests.open(kind, method, flow, Date.now());
  ctx.counters.requestArrived(kind);
  res.once('finish', () => {
    recorded.status = res.statusCode;
    ctx.counters.requestAnswered(kind, res.statusCode);
  });
}

function urlHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}
