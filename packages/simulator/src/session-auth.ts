import type { SimulatorContext } from './simulator-context.js';

export type SessionVerdict = 'ok' | 'invalid' | 'not-valid-for-rest';

/**
 * Checks the `Authorization` header of a /services/data request. Salesforce accepts the
 * `Bearer` scheme and its older `OAuth` alias.
 */
export function checkSession(
  ctx: SimulatorContext,
  authorization: string | undefined,
  nowMs: number,
): SessionVerdict {
  if (authorization === undefined) return 'invalid';
  const space = authorization.indexOf(' ');
  if (space < 0) return 'invalid';
  const scheme = authorization.slice(0, space).toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'oauth') return 'invalid';
  const token = authorization.slice(space + 1).trim();
  const valid =
    ctx.config.staticTokens.includes(token) ||
    ctx.tokens.isValid(token, nowMs, ctx.config.tokenTtlMs);
  if (!valid) return 'invalid';
  return ctx.config.restApiDisabled ? 'not-valid-for-rest' : 'ok';
}
