import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendApiJson } from './api-response.js';
import type { CallStatus, RecordedCall } from './call-log.js';
import { firstUndeclaredName, runInterviews } from './flow-interview.js';
import { canAnswer, readBody, sendHtmlError } from './http-exchange.js';
import { sampleLatencyMs } from './latency.js';
import { flowRefusal, orgRefusal } from './request-refusals.js';
import {
  concurrentLimitBodies,
  dailyLimitBody,
  invalidSessionBody,
  notFoundBody,
  restError,
  serverUnavailableBody,
  sessionNotValidForRestBody,
  tooManyRequestsBody,
} from './salesforce-errors.js';
import { checkSession } from './session-auth.js';
import { isApiVersionAccepted } from './simulator-config.js';
import { type SimulatorContext, schedule } from './simulator-context.js';

/**
 * `POST /services/data/vXX.X/actions/custom/flow/{flow}`, top to bottom:
 *
 * 1. record the call and count it open;
 * 2. session (401), the org's API access (403 API_DISABLED_FOR_ORG, not charged), daily
 *    allocation (403, charged here), concurrency cap (403 with the configured refusal);
 * 3. read the body (413 when too large);
 * 4. whole-call fault: reset / 502 / 503 / 429 end the call here, nothing runs and the charge is
 *    refunded; `hang` is remembered for step 7;
 * 5. API version and flow (404), the user's access to the flow (403 INSUFFICIENT_ACCESS), body
 *    shape (400 JSON_PARSER_ERROR / MISSING_ARGUMENT), input count (400 LIMIT_EXCEEDED),
 *    undeclared inputs in 'request' mode (400 INVALID_INPUT);
 * 6. run every input now in one shared transaction (deliveries are recorded at once, as the org
 *    would run them even if the client stopped waiting; a call over the transaction capacity
 *    rolls back and delivers nothing);
 * 7. answer 200, or 400 when any input failed, after the sampled latency (or after `hangMs`).
 */
export async function handleInvoke(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  version: string,
  flowName: string,
): Promise<void> {
  const startedAt = Date.now();
  const call = ctx.calls.open(
    flowName,
    startedAt,
    ctx.gauge.arrive(),
    req.headers['user-agent'] ?? null,
  );
  let admitted = false;
  let charged = false;
  res.once('close', () => {
    ctx.gauge.depart();
    if (admitted) ctx.gauge.release();
    if (call.status === 'in-flight') finish(ctx, call, 'aborted');
    else if (call.endedAt === null) call.endedAt = Date.now();
  });
  const refuse = (status: number, body: string): void => {
    if (charged) ctx.daily.refund();
    req.resume();
    finish(ctx, call, status);
    sendApiJson(ctx, res, status, body);
  };

  const session = checkSession(ctx, req.headers.authorization, startedAt);
  if (session !== 'ok') {
    refuse(401, session === 'invalid' ? invalidSessionBody : sessionNotValidForRestBody);
    return;
  }
  const orgRefused = orgRefusal(ctx.config.refuse);
  if (orgRefused !== null) {
    ctx.counters.refusedApiDisabled++;
    refuse(403, orgRefused);
    return;
  }
  if (!ctx.daily.tryCharge(startedAt)) {
    ctx.counters.refusedDaily++;
    refuse(403, dailyLimitBody);
    return;
  }
  charged = true;
  if (!ctx.gauge.admit(ctx.config.maxConcurrency)) {
    ctx.counters.refusedConcurrency++;
    refuse(403, concurrentLimitBodies[ctx.config.concurrencyRefusal]);
    return;
  }
  admitted = true;

  const read = await readBody(req, ctx.config.maxBodyBytes);
  if (read.kind === 'aborted') {
    ctx.daily.refund();
    return;
  }
  if (read.kind === 'too-large') {
    ctx.daily.refund();
    finish(ctx, call, 413);
    sendHtmlError(res, 413, 'Request Entity Too Large', { connection: 'close' });
    return;
  }

  const { config } = ctx;
  const fault = ctx.faults.pick(config, ctx.random);
  switch (fault) {
    case 'reset':
      ctx.daily.refund();
      finish(ctx, call, 'reset');
      req.socket.destroy();
      return;
    case 'http502':
      ctx.daily.refund();
      finish(ctx, call, 502);
      sendHtmlError(res, 502, 'Bad Gateway');
      return;
    case 'http503':
      refuse(503, serverUnavailableBody);
      return;
    case 'http429':
      ctx.daily.refund();
      finish(ctx, call, 429);
      sendApiJson(ctx, res, 429, tooManyRequestsBody, {
        'retry-after': String(config.retryAfterSeconds),
      });
      return;
    default:
      break;
  }

  const flow = isApiVersionAccepted(config, version)
    ? ctx.flows.find(flowName, config.unknownFlows === 'accept', startedAt)
    : undefined;
  if (flow === undefined) {
    answer(ctx, res, call, 404, notFoundBody);
    return;
  }
  const flowRefused = flowRefusal(config.refuse, flowName);
  if (flowRefused !== null) {
    ctx.counters.refusedInsufficientAccess++;
    answer(ctx, res, call, 403, flowRefused);
    return;
  }
  const parsed = parseInputs(read.body);
  if (typeof parsed === 'string') {
    answer(ctx, res, call, 400, parsed);
    return;
  }
  const inputs = parsed;
  call.inputs = inputs.length;
  ctx.counters.inputsReceived += inputs.length;
  if (inputs.length > config.maxInputsPerCall) {
    const message = `Too many inputs: ${inputs.length}. The maximum is ${config.maxInputsPerCall} per request.`;
    answer(ctx, res, call, 400, restError('LIMIT_EXCEEDED', message));
    return;
  }
  if (config.unknownInputMode === 'request') {
    const undeclared = firstUndeclaredName(flow, inputs);
    if (undeclared !== null) {
      const body = restError('INVALID_INPUT', `Invalid input parameter: ${undeclared}`);
      answer(ctx, res, call, 400, body);
      return;
    }
  }

  const batch = runInterviews(ctx, flow, inputs, config.recordInputs);
  call.succeeded = batch.succeeded;
  call.failed = batch.failed;
  if (batch.individualIds !== undefined) call.individualIds = batch.individualIds;
  if (batch.rolledBack) {
    call.rolledBack = true;
    ctx.counters.invokeRolledBack++;
  }
  ctx.counters.inputsSucceeded += batch.succeeded;
  ctx.counters.inputsFailed += batch.failed;
  const status = batch.failed === 0 ? 200 : 400;

  if (fault === 'hang') {
    finish(ctx, call, 'hang');
    schedule(ctx, config.hangMs, () => {
      if (!canAnswer(res)) return;
      sendApiJson(ctx, res, status, batch.body);
      call.endedAt = Date.now();
    });
    return;
  }
  const latencyMs = sampleLatencyMs(config.latency, inputs.length, ctx.random);
  if (latencyMs <= 0) {
    answer(ctx, res, call, status, batch.body);
  } else {
    schedule(ctx, latencyMs, () => answer(ctx, res, call, status, batch.body));
  }
}

/** Answers unless the client left already (then the call was recorded as aborted). */
function answer(
  ctx: SimulatorContext,
  res: ServerResponse,
  call: RecordedCall,
  status: number,
  body: string,
): void {
  if (call.status !== 'in-flight' || !canAnswer(res)) return;
  finish(ctx, call, status);
  sendApiJson(ctx, res, status, body);
}

function finish(
  ctx: SimulatorContext,
  call: RecordedCall,
  status: Exclude<CallStatus, 'in-flight'>,
): void {
  call.status = status;
  call.endedAt = status === 'hang' ? null : Date.now();
  ctx.counters.countCall(status);
}

/** The `inputs` array, or the body of a request-level 400. */
function parseInputs(body: Buffer): Record<string, unknown>[] | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return restError(
      'JSON_PARSER_ERROR',
      `Unexpected character in request body: ${(error as Error).message}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return restError(
      'JSON_PARSER_ERROR',
      'Cannot deserialize the request body: expected a JSON object',
    );
  }
  const inputs = (parsed as { inputs?: unknown }).inputs;
  if (inputs === undefined || inputs === null) {
    return restError('MISSING_ARGUMENT', 'Missing required argument: inputs');
  }
  if (!Array.isArray(inputs)) {
    return restError('JSON_PARSER_ERROR', 'Cannot deserialize inputs: expected a JSON array');
  }
  if (inputs.length === 0) {
    return restError('MISSING_ARGUMENT', 'Missing required argument: inputs must not be empty');
  }
  for (const input of inputs) {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return restError(
        'JSON_PARSER_ERROR',
        'Cannot deserialize inputs: every element must be a JSON object',
      );
    }
  }
  return inputs as Record<string, unknown>[];
}
