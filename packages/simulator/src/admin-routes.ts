import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http-exchange.js';
import { type RequestKind, requestKinds } from './request-kind.js';
import { SimulatorConfigError } from './simulator-errors.js';

/** What the admin endpoints may do; the running simulator provides it. */
export interface AdminOperations {
  stats(): unknown;
  calls(since: number): unknown;
  requests(since: number, kind: RequestKind | undefined): unknown;
  deliveries(): Record<string, number>;
  deliverySummary(): unknown;
  config(): unknown;
  configure(patch: unknown): void;
  reset(): void;
  expireTokens(): void;
}

const maxPatchBytes = 10 * 1024 * 1024;

/**
 * `/__sim/*`: control and inspection for tests that drive a simulator in another process.
 * No authentication; only loopback clients unless `adminAccess: 'any'`. Errors are
 * `{"error":{"code","message"}}`.
 */
export async function handleAdminRequest(
  ops: AdminOperations,
  allowRemote: boolean,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams | null,
): Promise<void> {
  if (!allowRemote && !isLoopback(req.socket.remoteAddress)) {
    req.resume();
    fail(res, 403, 'FORBIDDEN', 'admin endpoints answer loopback clients only');
    return;
  }
  const route = `${req.method ?? 'GET'} ${path}`;
  if (req.method === 'POST') {
    const read = await readBody(req, maxPatchBytes);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large') {
      fail(res, 413, 'TOO_LARGE', `body over ${maxPatchBytes} bytes`);
      return;
    }
    switch (route) {
      case 'POST /__sim/config': {
        let patch: unknown;
        try {
          patch = JSON.parse(read.body.toString('utf8') || '{}');
        } catch (error) {
          fail(res, 400, 'INVALID_JSON', (error as Error).message);
          return;
        }
        try {
          ops.configure(patch);
        } catch (error) {
          if (!(error instanceof SimulatorConfigError)) throw error;
          fail(res, 400, error.code, error.message);
          return;
        }
        ok(res, { ok: true });
        return;
      }
      case 'POST /__sim/reset':
        ops.reset();
        ok(res, { ok: true });
        return;
      case 'POST /__sim/expire-tokens':
        ops.expireTokens();
        ok(res, { ok: true });
        return;
    }
  } else {
    req.resume();
    switch (route) {
      case 'GET /__sim/stats':
        ok(res, ops.stats());
        return;
      case 'GET /__sim/calls': {
        const since = Number(query?.get('since') ?? 0);
        if (!Number.isInteger(since) || since < 0) {
          fail(res, 400, 'INVALID_SINCE', 'since must be a non-negative integer (a call seq)');
          return;
        }
        ok(res, ops.calls(since));
        return;
      }
      case 'GET /__sim/requests': {
        const since = Number(query?.get('since') ?? 0);
        if (!Number.isInteger(since) || since < 0) {
          fail(res, 400, 'INVALID_SINCE', 'since must be a non-negative integer (a request seq)');
          return;
        }
        const kind = query?.get('kind') ?? undefined;
        if (kind !== undefined && !isRequestKind(kind)) {
          fail(res, 400, 'INVALID_KIND', `kind must be one of ${requestKinds.join(', ')}`);
          return;
        }
        ok(res, ops.requests(since, kind));
        return;
      }
      case 'GET /__sim/deliveries':
        ok(res, ops.deliveries());
        return;
      case 'GET /__sim/deliveries/summary':
        ok(res, ops.deliverySummary());
        return;
      case 'GET /__sim/config':
        ok(res, ops.config());
        return;
    }
  }
  fail(res, 404, 'NOT_FOUND', `no admin route ${route}`);
}

function ok(res: ServerResponse, value: unknown): void {
  sendJson(res, 200, JSON.stringify(value), { 'cache-control': 'no-store' });
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, JSON.stringify({ error: { code, message } }));
}

function isRequestKind(value: string): value is RequestKind {
  return (requestKinds as readonly string[]).includes(value);
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
