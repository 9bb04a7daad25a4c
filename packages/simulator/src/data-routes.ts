import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendApiJson } from './api-response.js';
import { handleDescribe, handleFlowList } from './describe-handler.js';
import { handleInvoke } from './invoke-handler.js';
import { handleLimits } from './limits-handler.js';
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
 * describe, limits) is authenticated, charged to the daily allocation, then routed. A request
 * refused with 401 or 403 is not charged.
 */
export function handleDataRequest(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> | undefined {
  // ['', 'services', 'data', 'v65.0', 'actions', 'custom', 'flow', 'Name']
  const segments = path.split('/');
  if (segments.length > 4 && segments[segments.length - 1] === '') segments.pop();
  const versionSegment = segments[3] ?? '';
  const version = versionSegment.startsWith('v') ? versionSegment.slice(1) : '';
  const rest = segments.slice(4);
  const method = req.method ?? 'GET';
  const flowPath =
    rest.length >= 3 && rest[0] === 'actions' && rest[1] === 'custom' && rest[2] === 'flow';
  const flowName = flowPath && rest.length === 4 ? safeDecode(rest[3] ?? '') : null;

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
    if (readOnly) handleDescribe(ctx, req, res, flowName);
    else sendApiJson(ctx, res, 405, methodNotAllowedBody(method, 'GET,HEAD,POST'));
  } else {
    sendApiJson(ctx, res, 404, notFoundBody);
  }
  return;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
