import type { DeadLetter } from '@flow-dispatcher/shared';
import { formatCount } from '../output/format-number.js';
import { renderTable } from '../output/text-table.js';

/** `dlq list` as a table (pure). Inputs are left out: `dlq show ID` prints one in full. */
export function renderDeadLetterList(letters: readonly DeadLetter[], total: number): string {
  if (letters.length === 0) return 'no dead letters match\n';
  const table = renderTable(
    [
      { header: 'id' },
      { header: 'dead at' },
      { header: 'error' },
      { header: 'attempts', align: 'right' },
      { header: 'message', maxWidth: 60 },
    ],
    letters.map((l) => [
      l.id,
      new Date(l.deadAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      l.error.status === undefined ? l.error.code : `${l.error.code} (${l.error.status})`,
      String(l.attempts),
      l.error.message,
    ]),
  );
  const more =
    total > letters.length
      ? `\n${formatCount(letters.length)} of ${formatCount(total)} shown (oldest first); raise --limit or narrow the filter`
      : '';
  return `${table}${more}\n`;
}

/** `dlq show ID` as text (pure). */
export function renderDeadLetter(l: DeadLetter): string {
  const lines = [
    `id          ${l.id}`,
    `flow        ${l.flow}`,
    `key         ${l.key ?? '-'}`,
    `error       ${l.error.code}${l.error.status === undefined ? '' : ` (HTTP ${l.error.status})`}`,
    `message     ${l.error.message}`,
    `attempts    ${l.attempts}`,
    `enqueued    ${new Date(l.enqueuedAt).toISOString()}`,
    `dead since  ${new Date(l.deadAt).toISOString()}`,
    'input',
    JSON.stringify(l.input, null, 2),
  ];
  return `${lines.join('\n')}\n`;
}
