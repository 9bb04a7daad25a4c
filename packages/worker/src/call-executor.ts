import type { CallPermit, CallVerdict, InvokeOutcome } from '@flow-dispatcher/salesforce';
import { type LimitSignal, limitSignal } from '@flow-dispatcher/salesforce';
import {
  type Logger,
  type Metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  startLinkedSpan,
  type TriggerRecord,
  triggerId,
} from '@flow-dispatcher/shared';
import type { RetryPolicy } from './backoff.js';
import type { BatchSizes } from './batch-sizes.js';
import type { PendingTrigger } from './chunk-run.js';
import { type FailurePattern, failurePattern } from './failure-pattern.js';
import type { FlowBreaker } from './flow-breaker.js';
import type { HoldReason } from './flow-holds.js';
import type { OutcomeStore } from './outcome-store.js';
import { reconcileCall } from './reconcile-call.js';

/** What one call did, once its triggers are settled (for metrics, stats and limits). */
export interface CallEvent {
  flow: string;
  inputs: number;
  outcome: InvokeOutcome;
  /** Triggers that succeeded, will be retried, were dead-lettered; all 0 when the call was split. */
  succeeded: number;
  retried: number;
  dead: number;
  /** The call was refused as a whole and sent again as two halves. */
  split: boolean;
  /** First error code of the call, when there was one. */
  errorCode: string | undefined;
  /** Epoch ms of the answer. */
  at: number;
}

export type CallObserver = (event: CallEvent) => void;

/** The one thing the worker needs of a Salesforce client. */
export interface FlowInvoker {
  invokeFlow(
    flow: string,
    inputs: readonly unknown[],
    options?: {
      /**
       * Asked before each HTTP request of the call with the longest time that request may take:
       * false means it must not be sent (the call's permit or a chunk lock lapsed), and the
       * outcome is then a `connection-failed` verdict with `sent: false`.
       */
      beforeAttempt?: (maxDurationMs: number) => Promise<boolean>;
    },
  ): Promise<InvokeOutcome>;
}

export interface CallExecutorDeps {
  invoker: FlowInvoker;
  store: OutcomeStore;
  policy: RetryPolicy;
  metrics: Metrics;
  logger: Logger;
  /** Sends the halves of a refused call as calls of their own. */
  split: (flow: string, batch: PendingTrigger[]) => void;
  /** Told of every call once its triggers are settled. */
  observers?: readonly CallObserver[];
  /** Most inputs per call per flow, shrunk on governor limits. */
  batchSizes?: BatchSizes;
  /** Learns from each answer (usage, adaptive concurrency, pauses); not awaited. */
  onSignal?: (signal: LimitSignal, outcome: InvokeOutcome) => void;
  /** Whether a flow is held now (no request of it may leave). */
  isHeld?: (flow: string) => boolean;
  /** Watches for a sender's systematic mistake (the same error on every input, call after call). */
  breaker?: FlowBreaker;
  /**
   * Holds a flow (fleet-wide) whose calls fail for a reason that is not its triggers': 404, a
   * request-level 403, a tripped breaker; `scope: 'org'` holds every flow.
   */
  onHold?: (
    flow: string,
    cause: { reason: HoldReason; code: string; message: string; scope?: 'flow' | 'org' },
  ) => void;
}

/** Salesforce error codes are an upper-case enum; anything else is folded so labels stay bounded. */
function codeLabel(code: string | undefined): string {
  if (!code) return '';
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : 'OTHER';
}

function statusLabel(outcome: InvokeOutcome): string {
  if (outcome.status !== undefined) return String(outcome.status);
  const { verdict } = outcome;
  if (verdict.kind === 'timeout') return 'timeout';
  if (verdict.kind === 'connection-failed') return 'connection_failed';
  return 'none';
}

function firstErrorCode(
  verdict: CallVerdict,
  records: readonly TriggerRecord[],
): string | undefined {
  if (verdict.kind !== 'results') return undefined;
  for (const record of records)
    if (record.s === 'retry' || record.s === 'dead') return record.e.code;
  return undefined;
}

/**
 * The ids a call's log line carries, so an operator can follow one trigger by grepping its id or
 * its request's id: the triggers' ids, their chunks and the ingest requests that brought them.
 * Ids only, never inputs.
 */
export function callIds(batch: readonly PendingTrigger[]): {
  triggers: string[];
  chunks: string[];
  requests?: string[];
} {
  const chunks = new Set<string>();
  const requests = new Set<string>();
  const triggers = batch.map(({ run, index, requestId }) => {
    chunks.add(run.chunkId);
    if (requestId !== undefined) requests.add(requestId);
    return run.ids?.[index] ?? triggerId(run.flow, run.chunkId, index);
  });
  return {
    triggers,
    chunks: [...chunks],
    ...(requests.size > 0 ? { requests: [...requests] } : {}),
  };
}

/** The call's attempt number for its triggers: one more than the most counted attempts among them. */
export function callAttempt(batch: readonly PendingTrigger[]): number {
  return 1 + batch.reduce((most, trigger) => Math.max(most, trigger.attempts), 0);
}

/** What the answer was, on the call's span: HTTP status, requests made, the verdict. */
function traceOutcome(span: Span, outcome: InvokeOutcome): void {
  span.setAttributes({
    'flow_dispatcher.verdict': outcome.verdict.kind,
    'flow_dispatcher.http_requests': outcome.attempts,
    ...(outcome.status !== undefined ? { 'http.response.status_code': outcome.status } : {}),
  });
  if (outcome.status === undefined || outcome.status >= 400) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: statusLabel(outcome) });
  }
}

/**
 * One call, top to bottom: send the inputs, reconcile each answer, persist the records, settle the
 * triggers. It never throws and never leaves a trigger unsettled: anything unexpected hands the
 * batch back to its chunks (they are sent again later).
 */
export class CallExecutor {
  constructor(private readonly deps: CallExecutorDeps) {}

  readonly send = async (
    flow: string,
    batch: PendingTrigger[],
    permit: CallPermit,
  ): Promise<void> => {
    // The call's span (only while tracing): in its triggers' trace, or linked to each of them.
    const span = startLinkedSpan(
      'salesforce flow call',
      batch.map((trigger) => trigger.traceparent),
      {
        'flow_dispatcher.flow': flow,
        'flow_dispatcher.inputs': batch.length,
        'flow_dispatcher.attempt': callAttempt(batch),
      },
      SpanKind.CLIENT,
    );
    try {
      await this.#send(flow, batch, permit, span);
    } finally {
      span?.end();
    }
  };

  async #send(
    flow: string,
    batch: PendingTrigger[],
    permit: CallPermit,
    span: Span | undefined,
  ): Promise<void> {
    const outcome = await this.#invoke(flow, batch, permit);
    if (span) traceOutcome(span, outcome);
    const now = Date.now();
    const signal = this.#learn(flow, outcome, permit);

    const pattern = failurePattern(outcome.verdict);
    if (pattern.rolledBack && batch.length > 1 && this.deps.batchSizes) {
      // Every input failed alike with a governor limit or the generic flow fault: the call's one
      // transaction may have rolled back for its size (nothing ran). Smaller calls tell.
      const size = this.deps.batchSizes.shrink(flow, batch.length);
      this.deps.logger.warn(
        {
          flow,
          inputs: batch.length,
          batchSize: size,
          errorCode: pattern.error?.code,
          ...callIds(batch),
        },
        'every input failed alike (a rolled-back transaction?): sending them again in smaller calls',
      );
      this.#resend(flow, batch, size, outcome, pattern.error?.code ?? 'ROLLED_BACK', now);
      return;
    }
    if (signal.healthy) this.deps.batchSizes?.succeeded(flow, batch.length);
    const keepForRetry = this.#observeForBreaker(flow, batch, pattern, outcome.verdict);
    const plan = reconcileCall(batch, outcome, this.deps.policy, now, Math.random, {
      keepForRetry,
    });
    if (plan.kind === 'split') {
      this.deps.logger.warn(
        {
          flow,
          inputs: batch.length,
          status: outcome.status,
          errorCode: plan.error.code,
          reason: plan.error.message,
          ...callIds(batch),
        },
        'salesforce refused the whole call; sending it again as two halves to find the bad input',
      );
      this.#resend(flow, batch, Math.ceil(batch.length / 2), outcome, plan.error.code, now);
      return;
    }

    const errorCode = plan.error?.code ?? firstErrorCode(outcome.verdict, plan.records);
    // A call that never left (no token, or its permit or a lock lapsed first) is no request.
    if (outcome.attempts > 0) this.#countCall(flow, batch.length, outcome, errorCode);
    const settled = await this.#settle(flow, batch, plan.records);
    if (settled) this.#report(flow, batch, plan.records, outcome, settled, errorCode, now);
    if (span && settled) {
      span.setAttributes({
        'flow_dispatcher.succeeded': settled.succeeded,
        'flow_dispatcher.retried': settled.retried,
        'flow_dispatcher.dead': settled.dead,
        ...(errorCode ? { 'flow_dispatcher.error_code': codeLabel(errorCode) } : {}),
      });
    }
  }

  /** The HTTP call, under the gate every request passes; never throws. */
  async #invoke(flow: string, batch: PendingTrigger[], permit: CallPermit): Promise<InvokeOutcome> {
    const { invoker, metrics } = this.deps;
    metrics.inflightCalls.inc();
    try {
      return await invoker.invokeFlow(
        flow,
        batch.map((trigger) => trigger.input),
        {
          // Every request of the call leaves only while each trigger's chunk lock is surely held
          // (another worker may own a chunk whose lock lapsed) and the permit stays counted by the
          // fleet for as long as the request may take. The batch was cut under the same checks;
          // this matters for a resend after a token refresh.
          beforeAttempt: async (maxDurationMs) => {
            // A hold that came while the call waited for its token or permit: nothing leaves.
            if (this.deps.isHeld?.(flow)) return false;
            const now = Date.now();
            for (const trigger of batch) if (!trigger.run.canSend(now)) return false;
            return permit.covers(maxDurationMs);
          },
        },
      );
    } catch (err) {
      // A client that throws has a bug or refused the request; count it as an attempt so a
      // trigger that always provokes it ends in the dead letters instead of looping.
      const message = err instanceof Error ? err.message : String(err);
      return {
        verdict: { kind: 'malformed-response', status: 0, message },
        durationMs: 0,
        attempts: 1,
      };
    } finally {
      metrics.inflightCalls.dec();
    }
  }

  /**
   * What the answer tells the fleet (usage, the adaptive limit, a pause, a hold), then the
   * permit's release: the limiter hears of a pause, and the flow's hold is known, before the slot
   * is released, so the slot is not handed on to another call of a flow that is being held.
   */
  #learn(flow: string, outcome: InvokeOutcome, permit: CallPermit): LimitSignal {
    const { verdict } = outcome;
    const signal = limitSignal(verdict, outcome.durationMs);
    this.deps.onSignal?.(signal, outcome);
    if (verdict.kind === 'flow-missing') {
      this.deps.onHold?.(flow, {
        reason: 'not_found',
        code: 'NOT_FOUND',
        message: `${verdict.message}: the flow does not exist, is not active, or is not shared with the integration user`,
      });
    } else if (verdict.kind === 'refused') {
      this.deps.onHold?.(flow, {
        reason: 'refused',
        code: verdict.errorCode,
        message: verdict.message,
        scope: verdict.scope,
      });
    }
    permit.release();
    return signal;
  }

  /**
   * Records the call's outcomes in Redis, then settles each trigger in its run. Nothing is
   * settled if the write fails (the triggers are handed back and sent again later).
   */
  async #settle(
    flow: string,
    batch: PendingTrigger[],
    records: readonly (TriggerRecord | undefined)[],
  ): Promise<{ succeeded: number; retried: number; dead: number } | undefined> {
    try {
      await this.deps.store.persist(batch, records as TriggerRecord[]);
    } catch (err) {
      this.deps.logger.error(
        { flow, err },
        'could not record call outcomes in Redis; the triggers will be sent again',
      );
      for (const trigger of batch) trigger.run.handBack();
      return undefined;
    }
    const counts = { succeeded: 0, retried: 0, dead: 0 };
    batch.forEach((trigger, i) => {
      const record = records[i];
      if (!record) {
        trigger.run.handBack();
        return;
      }
      trigger.run.settle(trigger.index, record);
      if (record.s === 'retry') counts.retried++;
      else if (record.s === 'ok') counts.succeeded++;
      else counts.dead++;
    });
    return counts;
  }

  /** Metrics, the call's log line, and the observers (stats): nothing here changes an outcome. */
  #report(
    flow: string,
    batch: PendingTrigger[],
    records: readonly (TriggerRecord | undefined)[],
    outcome: InvokeOutcome,
    counts: { succeeded: number; retried: number; dead: number },
    errorCode: string | undefined,
    now: number,
  ): void {
    const { metrics, logger } = this.deps;
    const { succeeded, retried, dead } = counts;
    if (succeeded + dead > 0) {
      batch.forEach((trigger, i) => {
        const state = records[i]?.s;
        if (state === 'ok' || state === 'dead')
          metrics.triggerLatency.observe({ flow }, (now - trigger.enqueuedAt) / 1000);
      });
    }
    if (succeeded) metrics.triggers.inc({ flow, outcome: 'succeeded' }, succeeded);
    if (retried) metrics.triggers.inc({ flow, outcome: 'retried' }, retried);
    if (dead) metrics.triggers.inc({ flow, outcome: 'dead' }, dead);
    const line = {
      flow,
      inputs: batch.length,
      status: outcome.status,
      durationMs: Math.round(outcome.durationMs),
      succeeded,
      retried,
      dead,
      attempt: callAttempt(batch),
      ...(errorCode ? { errorCode } : {}),
      ...callIds(batch),
    };
    if (retried || dead)
      logger.warn({ ...line, verdict: outcome.verdict.kind }, 'call settled with failures');
    else logger.info(line, 'call settled');
    this.#notify({
      flow,
      inputs: batch.length,
      outcome,
      succeeded,
      retried,
      dead,
      split: false,
      errorCode,
      at: now,
    });
  }

  /**
   * Shows the flow's breaker what this answer says of its inputs, and holds the flow when it
   * trips. Returns whether the call's triggers, having all failed alike in a call of several, are
   * kept for a retry instead of dead-lettered: the failure may be the sender's (an input the flow
   * does not declare), not each trigger's, and a held flow's triggers must still be there when it
   * is resumed. A trigger that fails alone is dead-lettered as usual.
   */
  #observeForBreaker(
    flow: string,
    batch: PendingTrigger[],
    pattern: FailurePattern,
    verdict: CallVerdict,
  ): boolean {
    const { breaker } = this.deps;
    if (!breaker || (verdict.kind !== 'results' && verdict.kind !== 'rejected')) return false;
    const succeeded =
      verdict.kind === 'results' && verdict.inputs.some((input) => input.kind === 'succeeded');
    let fresh = 0;
    if (pattern.signature !== undefined) {
      for (const trigger of batch) {
        if (trigger.evidence) continue;
        trigger.evidence = true;
        fresh++;
      }
    }
    const tripped = breaker.observe(flow, { signature: pattern.signature, succeeded, fresh });
    if (tripped && pattern.error) {
      this.deps.onHold?.(flow, {
        reason: 'breaker',
        code: pattern.error.code,
        message: `every input of several calls failed with: ${pattern.error.message}`,
      });
    }
    return pattern.signature !== undefined && verdict.kind === 'results' && batch.length > 1;
  }

  #countCall(
    flow: string,
    inputs: number,
    outcome: InvokeOutcome,
    errorCode: string | undefined,
  ): void {
    const { metrics } = this.deps;
    metrics.salesforceRequests.inc({
      flow,
      status: statusLabel(outcome),
      error_code: codeLabel(errorCode),
    });
    metrics.salesforceRequestDuration.observe({ flow }, outcome.durationMs / 1000);
    metrics.batchInputs.observe({ flow }, inputs);
  }

  /** Sends a call's triggers again as calls of at most `size` (nothing of it ran). */
  #resend(
    flow: string,
    batch: PendingTrigger[],
    size: number,
    outcome: InvokeOutcome,
    errorCode: string,
    now: number,
  ): void {
    this.#countCall(flow, batch.length, outcome, errorCode);
    for (let i = 0; i < batch.length; i += size) this.deps.split(flow, batch.slice(i, i + size));
    this.#notify({
      flow,
      inputs: batch.length,
      outcome,
      succeeded: 0,
      retried: 0,
      dead: 0,
      split: true,
      errorCode,
      at: now,
    });
  }

  #notify(event: CallEvent): void {
    for (const observer of this.deps.observers ?? []) {
      try {
        observer(event);
      } catch (err) {
        this.deps.logger.error({ err }, 'call observer failed');
      }
    }
  }
}
