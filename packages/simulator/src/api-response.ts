import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { canAnswer, sendJson } from './http-exchange.js';
import type { SimulatorContext } from './simulator-context.js';

/**
 * `Sforce-Limit-Info` value: usage after this request was counted, as Salesforce reports it, then
 * (unless `apiBurstsMax` is null) `api-bursts`, which Salesforce shows but does not document: here
 * the requests charged in the second of the latest charge.
 */
export function limitInfo(ctx: SimulatorContext): string {
  const nowMs = Date.now();
  const { used, max } = ctx.daily.usage(nowMs);
  const burstsMax = ctx.config.apiBurstsMax;
  if (burstsMax === null) return `api-usage=${used}/${max}`;
  return `api-usage=${used}/${max}, api-bursts=${ctx.daily.burst()}/${burstsMax}`;
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
