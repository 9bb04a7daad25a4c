import type { DeadLetterFilter } from '@flow-dispatcher/producer';
import { isValidFlowName } from '@flow-dispatcher/shared/config';
import { parseTimeBound } from '../options/duration-option.js';
import { UsageError } from '../usage-error.js';

/** The filter flags every `dlq` subcommand shares. */
export interface DeadLetterFilterOptions {
  flow?: string;
  errorCode?: string;
  since?: string;
  until?: string;
}

/** Turns the flags (and trigger ids, for replay/purge) into a filter (pure; `now` for `--since 2h`). */
export function deadLetterFilter(
  options: DeadLetterFilterOptions,
  now: number,
  ids: readonly string[] = [],
): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (options.flow !== undefined) {
    if (!isValidFlowName(options.flow)) {
      throw new UsageError(`--flow expects a flow API name, got ${JSON.stringify(options.flow)}`);
    }
    filter.flow = options.flow;
  }
  if (options.errorCode !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(options.errorCode)) {
      throw new UsageError(
        `--error-code expects a code such as UNKNOWN_EXCEPTION, got ${JSON.stringify(options.errorCode)}`,
      );
    }
    filter.errorCode = options.errorCode;
  }
  if (options.since !== undefined) filter.since = parseTimeBound(options.since, '--since', now);
  if (options.until !== undefined) filter.until = parseTimeBound(options.until, '--until', now);
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    throw new UsageError('--since must be before --until');
  }
  if (ids.length > 0) filter.ids = [...new Set(ids)];
  return filter;
}

/** The filter in words, for confirmations and summaries: "flow=X, error=Y, since 2025-…". */
export function describeFilter(filter: DeadLetterFilter): string {
  const parts: string[] = [];
  if (filter.flow !== undefined) parts.push(`flow ${filter.flow}`);
  if (filter.errorCode !== undefined) parts.push(`error ${filter.errorCode}`);
  if (filter.since !== undefined) parts.push(`since ${new Date(filter.since).toISOString()}`);
  if (filter.until !== undefined) parts.push(`before ${new Date(filter.until).toISOString()}`);
  if (filter.ids !== undefined) parts.push(`${filter.ids.length} listed id(s)`);
  return parts.length ? parts.join(', ') : 'all';
}
