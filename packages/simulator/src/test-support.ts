// Helpers for this package's tests only (excluded from the build): a tiny HTTP client that talks
// to the simulator the way a Salesforce client would, and access to the fixtures in
// packages/shared/fixtures/salesforce.
import { readFileSync } from 'node:fs';
import { type Simulator, type SimulatorOptions, startSimulator } from './simulator.js';

/** Real Salesforce answers, verbatim (packages/shared/fixtures/salesforce: its README gives each source). */
const fixturesDir = new URL('shared/fixtures/salesforce/', new URL('../../', import.meta.url)); // packages/

export function fixtureText(name: string): string {
  return readFileSync(new URL(name, fixturesDir), 'utf8').trim();
}

export function fixtureJson(name: string): unknown {
  return JSON.parse(fixtureText(name));
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: unknown;
}

async function toReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Every simulator a test started, closed after it by `closeAll`. */
const running: Simulator[] = [];

export async function start(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = await startSimulator({ latency: { kind: 'fixed', ms: 0 }, ...opts });
  running.push(sim);
  return sim;
}

export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
}

export async function tokenRequest(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return toReply(
    await fetch(`${url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    }),
  );
}

export async function clientCredentialsToken(sim: Simulator): Promise<string> {
  const reply = await tokenRequest(sim.url, {
    grant_type: 'client_credentials',
    client_id: 'sim-client-id',
    client_secret: 'sim-client-secret',
  });
  if (reply.status !== 200) throw new Error(`token request failed: ${reply.status} ${reply.text}`);
  return (reply.json as { access_token: string }).access_token;
}

export async function api(
  sim: Simulator,
  token: string | null,
  path: string,
  init: {
    method?: string;
    body?: string;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const requestInit: RequestInit = { method: init.method ?? 'GET', headers };
  if (init.body !== undefined) requestInit.body = init.body;
  if (init.signal !== undefined) requestInit.signal = init.signal;
  return toReply(await fetch(`${sim.url}${path}`, requestInit));
}

export function invoke(
  sim: Simulator,
  token: string | null,
  flow: string,
  inputs: unknown[],
  opts: { version?: string; signal?: AbortSignal } = {},
): Promise<Reply> {
  const init: { method: string; body: string; signal?: AbortSignal } = {
    method: 'POST',
    body: JSON.stringify({ inputs }),
  };
  if (opts.signal !== undefined) init.signal = opts.signal;
  return api(
    sim,
    token,
    `/services/data/v${opts.version ?? '65.0'}/actions/custom/flow/${flow}`,
    init,
  );
}

/** `n` distinct Individual ids; distinct prefixes give disjoint sets. */
export function individualIds(n: number, prefix = 'A'): string[] {
  return Array.from({ length: n }, (_, i) => `0ii${prefix}-${String(i).padStart(6, '0')}`);
}

export function inputsFor(ids: readonly string[]): Array<{ IndividualId: string }> {
  return ids.map((IndividualId) => ({ IndividualId }));
}

export interface ResultElement {
  actionName: string;
  errors: Array<{ statusCode: string; message: string; fields: unknown[] }> | null;
  invocationId: null;
  isSuccess: boolean;
  outcome: null;
  outputValues: Record<string, unknown> | null;
  sortOrder: number;
  version: number;
}

export function results(reply: Reply): ResultElement[] {
  return reply.json as ResultElement[];
}
