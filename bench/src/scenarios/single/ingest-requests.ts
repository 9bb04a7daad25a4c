import { Pool } from 'undici';
import { BENCH_INGEST_TOKEN } from '../../workload.js';

/** The flow the single scenario's requests trigger. */
export const SINGLE_FLOW = 'Bench_Welcome_SMS';

/** One request's outcome: accepted (202) or not, and its latency in ms. */
export interface RequestResult {
  ok: boolean;
  ms: number;
}

/** Sends request `n`, its latency counted from `dueAt` (performance.now(); default: now). */
export type SendRequest = (dueAt?: number) => Promise<RequestResult>;

/**
 * The single-trigger requests to one ingest process: a connection per client (so that no client
 * waits for another's connection), request `n` carrying IndividualId `0PKbench<n>`.
 */
export function ingestRequests(
  url: string,
  connections: number,
): {
  send: SendRequest;
  close: () => Promise<void>;
} {
  const pool = new Pool(url, { connections, pipelining: 1 });
  let sequence = 0;
  return {
    send: (dueAt) => sendOne(pool, sequence++, dueAt),
    close: () => pool.close(),
  };
}

async function sendOne(pool: Pool, n: number, dueAt = performance.now()): Promise<RequestResult> {
  const IndividualId = `0PKbench${String(n).padStart(10, '0')}`;
  const body = JSON.stringify({
    triggers: [{ input: { IndividualId, TelephoneNumber: '+15550100', Coupon_Code: 'WELCOME' } }],
  });
  try {
    const response = await pool.request({
      method: 'POST',
      path: `/v1/flows/${SINGLE_FLOW}/triggers`,
      headers: {
        authorization: `Bearer ${BENCH_INGEST_TOKEN}`,
        'content-type': 'application/json',
      },
      body,
    });
    await response.body.dump();
    return { ok: response.statusCode === 202, ms: performance.now() - dueAt };
  } catch {
    return { ok: false, ms: performance.now() - dueAt };
  }
}

/** What a load phase sent: every request's outcome, and how long the phase took. */
export interface LoadResult {
  results: RequestResult[];
  elapsedMs: number;
}

/** `clients` loops, each sending its next request as soon as the last is answered. */
export async function closedLoop(
  send: SendRequest,
  clients: number,
  durationMs: number,
): Promise<LoadResult> {
  const results: RequestResult[] = [];
  const endAt = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < endAt) results.push(await send());
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, loop));
  return { results, elapsedMs: performance.now() - started };
}

/**
 * Starts requests on a fixed schedule (`rate` per second) for `durationMs`, whatever the answers
 * do; latencies count from when each request was due.
 */
export async function openLoop(
  send: SendRequest,
  rate: number,
  durationMs: number,
): Promise<LoadResult> {
  const total = Math.round((rate * durationMs) / 1_000);
  const interval = 1_000 / rate;
  const inFlight: Promise<RequestResult>[] = [];
  const started = performance.now();
  let issued = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (issued < total && started + issued * interval <= now) {
        inFlight.push(send(started + issued * interval));
        issued++;
      }
      if (issued < total) setTimeout(tick, Math.max(0, started + issued * interval - now - 0.5));
      else resolve();
    };
    tick();
  });
  const results = await Promise.all(inFlight);
  // Until the last answer: a server that cannot keep up shows a lower rate, not just latency.
  return { results, elapsedMs: Math.max(durationMs, performance.now() - started) };
}
