import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { canAnswer, sendJson } from './http-exchange.js';
import type { SimulatorContext } from './simulator-context.js';

/** `Sforce-Limit-Info` value: usage after this request was counted, as Salesforce reports it. */
export function limitInfo(ctx: SimulatorContext): string {
  const { used, max } = ctx.daily.usage(Date.now());
  return `api-usage=${used}/${max}`;
}

/** A JSON answer on /services/data: every one carries `Sforce-Limit-Info`. */
export function sendApiJson(
  ctx: SimulatorContext,
  res: ServerResponse,
  status: number,
  body: string,
  headers: OutgoingHttpHeaders = {},
): void {
  sendJson(res, status, body, { ...headers, 'sforce-limit-info': limitInfo(ctx) });
}

/** 304 Not Modified: headers only. */
export function sendNotModified(
  ctx: SimulatorContext,
  res: ServerResponse,
  lastModified: string,
): void {
  if (!canAnswer(res)) return;
  res.writeHead(304, { 'sforce-limit-info': limitInfo(ctx), 'last-modified': lastModified });
  res.end();
}
