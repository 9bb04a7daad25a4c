import type { CallVerdict, InputError } from '@flow-dispatcher/salesforce';
import type { TriggerError, TriggerRecord } from '@flow-dispatcher/shared';
import { type RetryPolicy, retryDelayMs } from './backoff.js';

/** What reconciliation needs to know of a trigger that was sent. */
export interface SentTrigger {
  /** Counted attempts before this call. */
  attempts: number;
  /** Epoch ms when the trigger was stored. */
  enqueuedAt: number;
}

/** The new record of each trigger of the call, in call order. */
export type CallPlan =
  | { kind: 'settle'; records: TriggerRecord[]; error?: TriggerError }
  /**
   * Salesforce refused the whole call (a request-level 4xx) and nothing ran: one bad input can do
   * that. Send the two halves as separate calls to find it; a single input is dead-lettered.
   */
  | { kind: 'split'; error: TriggerError };

interface RetryHow {
  /** Whether this failure counts towards maxAttempts/maxAge (is it the trigger's, or ours?). */
  counted: boolean;
  /** Least delay before the next try (Retry-After, a known window). */
  floorMs?: number;
}

/**
 * Turns one call's verdict into each trigger's next record (pure).
 *
 * Per-input results settle each trigger on its own: a succeeded input is never sent again because
 * a neighbour failed. Whole-call failures apply to every trigger of the call:
 *
 * | verdict                         | triggers                               | counts an attempt |
 * |---------------------------------|----------------------------------------|-------------------|
 * | results: succeeded              | ok                                     | yes               |
 * | results: permanent              | dead                                   | yes               |
 * | results: transient, governor    | retry (dead past maxAttempts/maxAge)   | yes               |
 * | 500/502/504, timeout/reset after sending, malformed answer | retry   | yes               |
 * | 503 (Salesforce unavailable)    | retry (the fleet pauses)               | no                |
 * | timeout/refused before sending  | retry                                  | no                |
 * | auth-expired, auth-misconfigured| retry (waits for an operator)          | no                |
 * | daily-limit, concurrency-limit, rate-limited | retry after the window    | no                |
 * | flow-missing (404)              | retry (the flow is held)               | no                |
 * | refused (403, no input named)   | retry (the flow, or the org, is held)  | no                |
 * | rejected (request-level 4xx)    | split the call; a lone input is dead   | yes               |
 *
 * With `keepForRetry` (every input of a call of several failed alike: the failure may be the
 * sender's, and the flow's breaker is counting), a permanent input error is a counted retry
 * instead of a dead letter; a trigger sent alone that fails is its own fault and dies as above.
 *
 * Uncounted retries never dead-letter: a trigger waits out limits, outages and configuration
 * mistakes. A 503 is Salesforce saying it is unavailable and took nothing: it says nothing of the
 * trigger, so it spends none of its attempts (counted, an hour of 503s would dead-letter a whole
 * backlog, and the chaos test's 20 % of 503s now and then a trigger Salesforce had run: see
 * docs/reliability.md, finding 7). 500, 502 and 504 still count: they may come after the flow ran.
 */
export function reconcileCall(
  sent: readonly SentTrigger[],
  outcome: { verdict: CallVerdict; status?: number | undefined },
  policy: RetryPolicy,
  now: number,
  random: () => number = Math.random,
  options: { keepForRetry?: boolean } = {},
): CallPlan {
  const { verdict } = outcome;
  const status =
    outcome.status ?? ('status' in verdict && verdict.status > 0 ? verdict.status : undefined);

  const retry = (
    trigger: SentTrigger,
    error: TriggerError,
    how: RetryHow,
    jitter: () => number = random,
  ): TriggerRecord => {
    const attempts = how.counted ? trigger.attempts + 1 : trigger.attempts;
    if (how.counted) {
      if (attempts >= policy.maxAttempts) {
        return dead(attempts, {
          ...error,
          message: `${error.message} (gave up after ${attempts} attempts)`,
        });
      }
      if (now - trigger.enqueuedAt >= policy.maxAgeMs) {
        return dead(attempts, {
          ...error,
          message: `${error.message} (gave up: older than ${Math.round(policy.maxAgeMs / 60_000)} min)`,
        });
      }
    }
    const delay = retryDelayMs(Math.max(attempts, 1), policy, jitter, how.floorMs ?? 0);
    return { s: 'retry', a: attempts, t: now, n: now + delay, e: error };
  };
  const dead = (attempts: number, error: TriggerError): TriggerRecord => ({
    s: 'dead',
    a: attempts,
    t: now,
    e: error,
  });
  // One draw for the whole call: triggers that failed together go out together again, in one
  // call, instead of one by one at jittered times.
  const all = (error: TriggerError, how: RetryHow): CallPlan => {
    const draw = random();
    return {
      kind: 'settle',
      records: sent.map((trigger) => retry(trigger, error, how, () => draw)),
      error,
    };
  };
  const withStatus = (code: string, message: string): TriggerError =>
    status === undefined ? { code, message } : { code, message, status };

  switch (verdict.kind) {
    case 'results': {
      const records = sent.map((trigger, i): TriggerRecord => {
        const input = verdict.inputs[i];
        if (input === undefined) {
          // Cannot happen: the classifier turns a count mismatch into malformed-response.
          return retry(trigger, withStatus('MALFORMED_RESPONSE', 'no result for this input'), {
            counted: true,
          });
        }
        switch (input.kind) {
          case 'succeeded':
            return { s: 'ok', a: trigger.attempts + 1, t: now, o: input.outputValues };
          case 'permanent':
            if (options.keepForRetry) {
              return retry(trigger, inputError(input.error, verdict.status), { counted: true });
            }
            return dead(trigger.attempts + 1, inputError(input.error, verdict.status));
          default:
            // transient, governor-limit
            return retry(trigger, inputError(input.error, verdict.status), { counted: true });
        }
      });
      return { kind: 'settle', records };
    }
    case 'overloaded':
      return all(
        withStatus(
          verdict.status === 503 ? 'SERVER_UNAVAILABLE' : `HTTP_${verdict.status}`,
          verdict.message,
        ),
        { counted: verdict.status !== 503, floorMs: verdict.retryAfterMs ?? 0 },
      );
    case 'rate-limited':
      return all(withStatus('HTTP_429', verdict.message), {
        counted: false,
        floorMs: verdict.retryAfterMs ?? 1_000,
      });
    case 'daily-limit':
      return all(withStatus('REQUEST_LIMIT_EXCEEDED', verdict.message), {
        counted: false,
        floorMs: 60_000,
      });
    case 'concurrency-limit':
      return all(withStatus('REQUEST_LIMIT_EXCEEDED', verdict.message), {
        counted: false,
        floorMs: 1_000,
      });
    case 'auth-expired':
      return all(withStatus('INVALID_SESSION_ID', verdict.message), {
        counted: false,
        floorMs: 1_000,
      });
    case 'auth-misconfigured':
      return all(withStatus('AUTH_MISCONFIGURED', verdict.message), {
        counted: false,
        floorMs: 30_000,
      });
    case 'timeout':
      return all(withStatus('TIMEOUT', verdict.message), { counted: verdict.sent });
    case 'connection-failed':
      return all(withStatus('CONNECTION_FAILED', verdict.message), { counted: verdict.sent });
    case 'malformed-response':
      return all(withStatus('MALFORMED_RESPONSE', verdict.message), { counted: true });
    case 'flow-missing':
      // The flow's circuit opens (the worker does that): its triggers wait, they do not die.
      return all(
        withStatus(
          'NOT_FOUND',
          `${verdict.message}: the flow does not exist, is not active, or is not shared with the integration user; its triggers wait until it is back`,
        ),
        { counted: false, floorMs: 5_000 },
      );
    case 'refused':
      // Nothing ran and no input was named (a permission, the API switched off): the flow, or
      // the whole org, is held (the worker does that); its triggers wait, they do not die.
      return all(withStatus(verdict.errorCode, verdict.message), {
        counted: false,
        floorMs: 5_000,
      });
    case 'rejected': {
      const error = withStatus(verdict.errorCode, verdict.message);
      if (sent.length > 1) return { kind: 'split', error };
      return { kind: 'settle', records: sent.map((t) => dead(t.attempts + 1, error)), error };
    }
  }
}

function inputError(error: InputError, status: number): TriggerError {
  return { code: error.statusCode, message: error.message, status };
}
