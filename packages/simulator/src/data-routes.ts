import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendApiJson } from './api-response.js';
import { handleDescribe, handleFlowList } from './describe-handler.js';
import { handleInvoke } from './invoke-handler.js';
import { handleLimits } from './limits-handler.js';
import type { DataPath } from './request-kind.js';
import { flowRefusal, orgRefusal } from './request-refusals.js';
import {
  dailyLimitBody,
  invalidSessionBody,
  methodNotAllowedBody,
  notFoundBody,
  sessionNotValidForRestBody,
} from './salesforce-errors.js';
import { checkSession } from './session-auth.js';
import { isApiVersionAccepted } from './simulator-config.js';
import type { SimulatorContext } from './simulator-context.js';

/**
 * Everything under `/services/data/`. Invoke POSTs go to their own handler; the rest (list,
 * describe, limits) is authenticated (401), refused while the org's API access is off (403
 * API_DISABLED_FOR_ORG), charged to the daily allocation (403 TotalRequests once it is spent),
 * then routed; a describe of a flow the user may not run answers 403 INSUFFICIENT_ACCESS. The
 * 401s, API_DISABLED_FOR_ORG and TotalRequests are free; every answer after the charge (200, 304,
 * 403 INSUFFICIENT_ACCESS, 404, 405) counts.
 */
export function handleDataRequest(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  { version, rest, flowPath, flowName }: DataPath,
): Promise<void> | undefined {
  const method = req.method ?? 'GET';

  if (method === 'POST' && flowName !== null) return handleInvoke(ctx, req, res, version, flowName);
  req.resume();

  const nowMs = Date.now();
  const session = checkSession(ctx, req.headers.authorization, nowMs);
  if (session !== 'ok') {
    sendApiJson(
      ctx,
      res,
      401,
      session === 'invalid' ? invalidSessionBody : sessionNotValidForRestBody,
    );
    return;
  }
  const orgRefused = orgRefusal(ctx.config.refuse);
  if (orgRefused !== null) {
    ctx.counters.refusedApiDisabled++;
    sendApiJson(ctx, res, 403, orgRefused);
    return;
  }
  if (!ctx.daily.tryCharge(nowMs)) {
    ctx.counters.refusedDaily++;
    sendApiJson(ctx, res, 403, dailyLimitBody);
    return;
  }
  if (!isApiVersionAccepted(ctx.config, version)) {
    sendApiJson(ctx, res, 404, notFoundBody);
    return;
  }
  const readOnly = method === 'GET' || method === 'HEAD';
  if (rest.length === 1 && rest[0] === 'limits') {
    if (readOnly) handleLimits(ctx, res);
    else sendApiJson(ctx, res, 405, methodNotAllowedBody(method, 'GET,HEAD'));
  } else if (flowPath && rest.length === 3) {
    if (readOnly) handleFlowList(ctx, res, version);
    else sendApiJson(ctx, res, 405, methodNotAllowedBody(method, 'GET,HEAD'));
  } else if (flowName !== null) {
    if (!readOnly) sendApiJson(ctx, res, 405, methodNotAllowedBody(method, 'GET,HEAD,POST'));
    else describeUnlessRefused(ctx, req, res, flowName);
  } else {
    sendApiJson(ctx, res, 404, notFoundBody);
  }
  return;
}

/** A flow the user may not run is refused only once it is known to exist (else 404). */
function describeUnlessRefused(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  flowName: string,
): void {
  const refused = flowRefusal(ctx.config.refuse, flowName);
  const acceptUnknown = ctx.config.unknownFlows === 'accept';
  if (refused !== null && ctx.flows.find(flowName, acceptUnknown, Date.now()) !== undefined) {
    ctx.counters.refusedInsufficientAccess++;
    sendApiJson(ctx, res, 403, refused);
    return;
  }
  handleDescribe(ctx, req, res, flowName);
}
