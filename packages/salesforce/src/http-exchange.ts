import type { Dispatcher } from 'undici';
import type { ResponseHeaders } from './header-value.js';

/**
 * One HTTP request/response over an undici dispatcher, reduced to what classification needs. It
 * never rejects: every outcome is a value.
 *
 * It drives undici's dispatch handler directly (rather than `request()`) for three facts the
 * classification depends on:
 * - whether the request was handed to an open connection (`sent`): an error before that point
 *   means nothing reached Salesforce, after it the call may have run;
 * - a hard cap on the response size: past `maxResponseBytes` the exchange is aborted, which
 *   destroys the connection instead of draining an unbounded body into the pool;
 * - one deadline for the whole exchange (queueing, connecting, waiting, reading).
 */

export interface ExchangeRequest {
  /** `https://host[:port]`: the dispatcher's origin, or the target origin for an Agent. */
  origin: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Deadline for the whole exchange, from this call to the last byte of the answer. */
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
}

export type ExchangeResult =
  | {
      kind: 'response';
      status: number;
      headers: ResponseHeaders;
      body: string;
      durationMs: number;
    }
  /** The answer grew past `maxResponseBytes`; the connection was discarded. */
  | { kind: 'too-large'; status: number; headers: ResponseHeaders; durationMs: number }
  | { kind: 'transport-error'; error: unknown; sent: boolean; durationMs: number };

class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  readonly code = 'FD_RESPONSE_TOO_LARGE';
}

export function exchange(
  dispatcher: Dispatcher,
  request: ExchangeRequest,
): Promise<ExchangeResult> {
  const startedAt = performance.now();
  const elapsed = () => Math.round((performance.now() - startedAt) * 1000) / 1000;
  const { signal, timeoutMs, maxResponseBytes } = request;

  return new Promise<ExchangeResult>((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let sent = false;
    let tooLarge = false;
    let status = 0;
    let headers: ResponseHeaders = {};
    let received = 0;
    const chunks: Buffer[] = [];
    /** Why the exchange was given up before undici handed the request to a connection. */
    let abandonReason: Error | undefined;

    const finish = (result: ExchangeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };

    const abortWith = (reason: Error) => {
      if (controller) {
        controller.abort(reason); // undici reports it back through onResponseError
      } else {
        // Still queued or connecting: answer now; onRequestStart will cancel it unsent.
        abandonReason = reason;
        finish({ kind: 'transport-error', error: reason, sent: false, durationMs: elapsed() });
      }
    };

    const onAbort = () => abortWith(toError(signal?.reason));
    const timer = setTimeout(
      () =>
        abortWith(
          new DOMException(`no complete answer within ${timeoutMs} ms`, 'TimeoutError') as Error,
        ),
      timeoutMs,
    );

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctl) {
        controller = ctl;
        if (settled) {
          ctl.abort(abandonReason ?? new Error('exchange abandoned'));
          return;
        }
        sent = true;
      },
      onResponseStart(ctl, statusCode, responseHeaders) {
        if (statusCode < 200) return; // 1xx: the real answer follows
        status = statusCode;
        headers = responseHeaders;
        const length = Number(responseHeaders['content-length']);
        if (Number.isFinite(length) && length > maxResponseBytes) {
          tooLarge = true;
          ctl.abort(new ResponseTooLargeError(`answer of ${length} bytes`));
        }
      },
      onResponseData(ctl, chunk) {
        if (tooLarge) return;
        received += chunk.length;
        if (received > maxResponseBytes) {
          tooLarge = true;
          chunks.length = 0;
          ctl.abort(new ResponseTooLargeError(`answer over ${maxResponseBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      },
      onResponseEnd() {
        finish({
          kind: 'response',
          status,
          headers,
          body: Buffer.concat(chunks).toString('utf8'),
          durationMs: elapsed(),
        });
      },
      onResponseError(_ctl, error) {
        if (tooLarge) {
          finish({ kind: 'too-large', status, headers, durationMs: elapsed() });
        } else {
          finish({ kind: 'transport-error', error, sent, durationMs: elapsed() });
        }
      },
    };

    try {
      dispatcher.dispatch(
        {
          origin: request.origin,
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: request.body ?? null,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          // Never let undici replay an invocation on another connection: it is not idempotent.
          idempotent: request.method !== 'POST',
        },
        handler,
      );
    } catch (error) {
      finish({ kind: 'transport-error', error, sent: false, durationMs: elapsed() });
    }
  });
}

function toError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  if (reason !== null && typeof reason === 'object' && 'name' in reason) return reason as Error;
  return new DOMException('aborted', 'AbortError') as Error;
}
