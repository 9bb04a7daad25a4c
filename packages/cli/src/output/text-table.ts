/** Plain-text tables for terminals and pipes (pure): aligned columns, no colours, no borders. */

export interface TableColumn {
  header: string;
  /** Numbers read best right-aligned. @defaultValue 'left' */
  align?: 'left' | 'right';
  /** Longer cells are cut with "…". @defaultValue no limit */
  maxWidth?: number;
}

/** Renders `rows` under `columns`, two spaces between columns, one line per row, no trailing spaces. */
export function renderTable(columns: readonly TableColumn[], rows: readonly string[][]): string {
  const cut = (text: string, max: number | undefined) =>
    max !== undefined && text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
  const cells = [
    columns.map((c) => c.header),
    ...rows.map((row) =>
      columns.map((c, i) => cut((row[i] ?? '').replace(/[\r\n\t]+/g, ' '), c.maxWidth)),
    ),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) =>
          columns[i]?.align === 'right'
            ? cell.padStart(widths[i] ?? 0)
            : cell.padEnd(widths[i] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
