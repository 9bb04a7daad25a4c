import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendApiJson, sendNotModified } from './api-response.js';
import { notFoundBody } from './salesforce-errors.js';
import type { SimulatorContext } from './simulator-context.js';

/** `GET|HEAD /services/data/vXX.X/actions/custom/flow/{flow}`, with If-Modified-Since. */
export function handleDescribe(
  ctx: SimulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  flowName: string,
): void {
  const flow = ctx.flows.find(flowName, ctx.config.unknownFlows === 'accept', Date.now());
  if (flow === undefined) {
    sendApiJson(ctx, res, 404, notFoundBody);
    return;
  }
  const lastModified = new Date(flow.lastModifiedMs).toUTCString();
  const since = req.headers['if-modified-since'];
  if (since !== undefined) {
    const sinceMs = Date.parse(since);
    if (!Number.isNaN(sinceMs) && flow.lastModifiedMs <= sinceMs) {
      sendNotModified(ctx, res, lastModified);
      return;
    }
  }
  sendApiJson(ctx, res, 200, flow.describeBody, { 'last-modified': lastModified });
}

/** `GET|HEAD /services/data/vXX.X/actions/custom/flow`: the active flows. */
export function handleFlowList(ctx: SimulatorContext, res: ServerResponse, version: string): void {
  sendApiJson(ctx, res, 200, ctx.flows.listBody(version));
}
