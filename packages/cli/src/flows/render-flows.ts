import type { FleetStatus } from '@flow-dispatcher/producer';
import { formatCount, formatDuration } from '../output/format-number.js';
import { formatPace } from '../output/format-pace.js';
import { renderTable } from '../output/text-table.js';

/** `flow-dispatcher flows` as text (pure): each flow, its state, and why a held one is held. */
export function renderFlows(
  status: FleetStatus,
  deadLetters: Map<string, number>,
  now: number,
): string {
  const lines: string[] = [];
  if (status.heldAll) {
    lines.push(
      `every flow is held: ${status.heldAll.reason} ${status.heldAll.code}: ${status.heldAll.message} (since ${formatDuration(now - status.heldAll.since)} ago; \`flow-dispatcher resume\` releases it)`,
      '',
    );
  }
  if (status.pausedAll) lines.push('the whole fleet is paused (`flow-dispatcher resume`)', '');
  if (status.flows.length === 0) {
    lines.push('no flow has had a trigger yet');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    renderTable(
      [
        { header: 'flow' },
        { header: 'state' },
        { header: 'pending', align: 'right' },
        { header: 'dead', align: 'right' },
        { header: 'pace' },
        { header: 'why' },
      ],
      status.flows.map((f) => [
        f.flow,
        f.held ? `held (${f.held.reason})` : f.paused ? 'paused' : 'dispatching',
        formatCount(f.pending),
        formatCount(deadLetters.get(f.flow) ?? 0),
        formatPace(f.pace),
        f.held
          ? `${f.held.code}: ${f.held.message} (for ${formatDuration(now - f.held.since)}; ${
              f.held.nextProbeAt === null
                ? `\`flow-dispatcher resume ${f.flow}\` once fixed`
                : 'probed now and then, or `resume`'
            })`
          : '',
      ]),
    ),
  );
  return `${lines.join('\n')}\n`;
}
