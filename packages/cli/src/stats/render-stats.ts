import { formatCount, formatDuration, formatRate } from '../output/format-number.js';
import { formatPace } from '../output/format-pace.js';
import { renderTable } from '../output/text-table.js';
import type { LimitsView, StatsSnapshot } from './stats-snapshot.js';

const dash = '-';
const count = (n: number | null) => (n === null ? dash : formatCount(n));

/** `flow-dispatcher stats` as text (pure). */
export function renderStats(s: StatsSnapshot): string {
  const { totals, rates } = s;
  const statuses = Object.entries(totals.statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status} ×${formatCount(n)}`)
    .join(', ');
  const lines = [
    `flow-dispatcher stats at ${s.at} (rates over ${formatDuration(s.window.seconds * 1_000)} to ${s.window.to.slice(11, 19)}Z)`,
    '',
    `backlog       ${formatCount(s.backlog.triggers)} trigger(s) pending; chunks: ${formatCount(s.backlog.chunks.waiting)} waiting, ${formatCount(s.backlog.chunks.active)} active, ${formatCount(s.backlog.chunks.delayed)} delayed, ${formatCount(s.backlog.chunks.prioritized)} prioritized, ${formatCount(s.backlog.chunks.failed)} failed`,
    `triggers/s    succeeded ${formatRate(rates.succeeded)}, retried ${formatRate(rates.retried)}, dead ${formatRate(rates.dead)}  (${formatCount(totals.succeeded)} / ${formatCount(totals.retried)} / ${formatCount(totals.dead)} in the window)`,
    `calls/s       ${formatRate(rates.calls)}, inputs per call ${rates.inputsPerCall === null ? dash : formatRate(rates.inputsPerCall)}  (${formatCount(totals.calls)} call(s)${statuses ? `: ${statuses}` : ''})`,
    `salesforce    ${renderLimits(s.limits, s.at)}`,
    `paused        ${s.pausedAll ? 'the whole fleet' : s.pausedFlows.length ? s.pausedFlows.join(', ') : 'none'}`,
    `held          ${renderHeld(s)}`,
    `paced         ${renderPaced(s)}`,
    `dead letters  ${formatCount(s.deadLetters)}`,
  ];
  if (s.flows.length > 0) {
    lines.push(
      '',
      renderTable(
        [
          { header: 'flow' },
          { header: 'pending', align: 'right' },
          { header: 'waiting', align: 'right' },
          { header: 'active', align: 'right' },
          { header: 'delayed', align: 'right' },
          { header: 'failed', align: 'right' },
          { header: 'paused' },
          { header: 'held' },
          { header: 'pace' },
        ],
        s.flows.map((f) => [
          f.flow,
          formatCount(f.pending),
          formatCount(f.jobs.waiting + f.jobs.prioritized),
          formatCount(f.jobs.active),
          formatCount(f.jobs.delayed),
          formatCount(f.jobs.failed),
          f.paused ? 'yes' : 'no',
          f.held ? `${f.held.reason} ${f.held.code}` : 'no',
          formatPace(f.pace),
        ]),
      ),
      '(waiting/active/delayed/failed count chunk jobs; pending counts triggers)',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Held flows with their reason and Salesforce's code: what an operator needs to act. */
function renderHeld(s: StatsSnapshot): string {
  if (s.heldAll)
    return `every flow: ${s.heldAll.reason} ${s.heldAll.code} (flow-dispatcher resume)`;
  if (s.heldFlows.length === 0) return 'none';
  return s.heldFlows.map((h) => `${h.flow} (${h.reason} ${h.code})`).join(', ');
}

/** Paced flows with their pace (`flow-dispatcher pace`). */
function renderPaced(s: StatsSnapshot): string {
  const paced = s.flows.filter((f) => f.pace !== null);
  if (paced.length === 0) return 'none';
  return paced.map((f) => `${f.flow} ${formatPace(f.pace)}`).join(', ');
}

function renderLimits(l: LimitsView, at: string): string {
  const usage =
    l.apiUsed !== null && l.apiMax !== null && l.apiMax > 0
      ? `${formatCount(l.apiUsed)} / ${formatCount(l.apiMax)} (${formatRate((l.apiUsed / l.apiMax) * 100)}%)`
      : `${count(l.apiUsed)} / ${count(l.apiMax)}`;
  const parts = [
    `API usage ${usage}`,
    `fleet budget ${count(l.budgetCalls)} call(s)${l.budgetCalls !== null && l.apiUsed !== null ? ` (${formatCount(Math.max(0, l.budgetCalls - l.apiUsed))} left)` : ''}`,
    `concurrency ${count(l.inflight)} in flight of ${count(l.concurrencyLimit)}`,
  ];
  const now = Date.parse(at);
  if (l.pausedUntil !== null && l.pausedUntil > now) {
    parts.push(
      `calls paused for ${formatDuration(l.pausedUntil - now)}${l.pauseCause ? ` (${l.pauseCause})` : ''}`,
    );
  } else {
    parts.push('calls not paused');
  }
  return parts.join(', ');
}
