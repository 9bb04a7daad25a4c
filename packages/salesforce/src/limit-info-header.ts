import type { LimitInfo } from './types.js';

/**
 * Parses `Sforce-Limit-Info` (REST API guide "Limit Info Header"; per-app form from
 * simple-salesforce's tests):
 *
 *     api-usage=10018/100000
 *     api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)
 *     api-usage=18/5000, api-bursts=1/750
 *
 * Tolerates spacing, letter case, `;` or `,` separators and repeated headers. Parts it does not
 * know (`api-bursts`, which the guide shows without documenting it) and parts that do not parse
 * are left out; `undefined` when no part parses. Never throws.
 */
export function parseLimitInfo(header: string | string[] | undefined): LimitInfo | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(';') : header;
  if (typeof text !== 'string') return undefined;

  const info: LimitInfo = {};
  for (const part of text.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1);
    if (key === 'api-usage' && info.apiUsage === undefined) {
      const usage = parseUsage(value);
      if (usage) info.apiUsage = usage;
    } else if (key === 'per-app-api-usage' && info.perAppApiUsage === undefined) {
      const usage = parseUsage(value);
      if (usage) {
        const app = /\(\s*appName\s*=\s*([^)]*?)\s*\)/i.exec(value);
        info.perAppApiUsage = { ...usage, appName: app?.[1] ? app[1] : null };
      }
    }
  }
  return info.apiUsage || info.perAppApiUsage ? info : undefined;
}

function parseUsage(value: string): { used: number; max: number } | undefined {
  const match = /^\s*(\d{1,15})\s*\/\s*(\d{1,15})\s*(?:\(|$)/.exec(value);
  if (!match?.[1] || !match[2]) return undefined;
  return { used: Number(match[1]), max: Number(match[2]) };
}
