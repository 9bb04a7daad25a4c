import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isConfigError } from './config-error.js';
import { CONFIG_VARIABLES, type ConfigVariable } from './config-variables.js';
import { loadConfig } from './env-config.js';

const README = new URL('../../../../README.md', import.meta.url);
const variables = Object.entries(CONFIG_VARIABLES) as [string, ConfigVariable<unknown>][];

interface ReadmeRow {
  variable: string;
  default: string;
  line: string;
}

/**
 * The rows of the README's "## Configuration" table: `| variable | default | meaning |`, one
 * variable per row, written as code. The default cell is compared by its first code span
 * (`86400000` of "`86400000` (24 h)"), or its text when it has none ("all"), empty for none.
 */
function readmeRows(markdown: string): ReadmeRow[] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith('Configuration\n'));
  if (section === undefined) throw new Error('README.md has no "## Configuration" section');
  const lines = section.split('\n').filter((line) => line.startsWith('|'));
  expect(lines[0], 'the table header').toMatch(/^\| variable \| default \| meaning \|$/);
  return lines.slice(2).map((line) => {
    // Only the first two cells matter: the meaning may hold a `|` of its own.
    const cells = line.split('|').map((cell) => cell.trim());
    const variable = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? '')?.[1];
    if (variable === undefined) {
      throw new Error(`README.md: a configuration row names one variable, as code: ${line}`);
    }
    const cell = cells[2] ?? '';
    const code = /`([^`]*)`/.exec(cell)?.[1];
    return { variable, default: code ?? cell, line };
  });
}

/** A default as the README shows it: the value (`''` for an empty list), or the rule's words. */
function shownDefault(variable: ConfigVariable<unknown>): string {
  return variable.default ?? variable.shownDefault ?? '';
}

describe('CONFIG_VARIABLES and the README', () => {
  const rows = readmeRows(readFileSync(README, 'utf8'));

  it('list the same variables, each once', () => {
    const inReadme = rows.map((row) => row.variable);
    expect(new Set(inReadme).size, 'a variable has two README rows').toBe(inReadme.length);
    const inTable = variables.map(([name]) => name);
    const missing = variables
      .filter(([name]) => !inReadme.includes(name))
      .map(
        ([name, v]) =>
          `| \`${name}\` | ${shownDefault(v) && `\`${shownDefault(v)}\``} | ${v.doc} |`,
      );
    expect(missing, 'variables missing from the README (rows to add)').toEqual([]);
    expect(
      inReadme.filter((name) => !inTable.includes(name)),
      'README rows of variables that nothing reads',
    ).toEqual([]);
  });

  it('show the same defaults', () => {
    const wrong = rows.flatMap((row) => {
      const variable = CONFIG_VARIABLES[row.variable as keyof typeof CONFIG_VARIABLES];
      const expected = shownDefault(variable);
      return row.default === expected
        ? []
        : [`${row.variable}: README ${row.default}, code ${expected}`];
    });
    expect(wrong).toEqual([]);
  });

  it('reads each README row under the name of its cell, whatever the column content', () => {
    // A self-check of the parser above: a row that moved or lost its backticks is reported.
    expect(() =>
      readmeRows(
        '## Configuration\n| variable | default | meaning |\n|---|---|---|\n| FOO | 1 | x |\n',
      ),
    ).toThrow(/one variable, as code/);
    expect(
      readmeRows(
        '## Configuration\n| variable | default | meaning |\n|---|---|---|\n| `A_B` | `86400000` (24 h) | x |\n| `C` | all | y |\n| `D` | | z |\n## Layout\n',
      ).map((row) => [row.variable, row.default]),
    ).toEqual([
      ['A_B', '86400000'],
      ['C', 'all'],
      ['D', ''],
    ]);
  });
});

describe('CONFIG_VARIABLES', () => {
  it('gives each value of Config one variable at most', () => {
    const places = variables.flatMap(([, v]) => (v.at === undefined ? [] : [v.at]));
    expect(new Set(places).size).toBe(places.length);
  });

  it('has defaults its own parsers accept, and a one-line doc for each variable', () => {
    for (const [name, variable] of variables) {
      expect(() => variable.read(undefined, name), name).not.toThrow();
      expect(variable.doc, name).toMatch(/^[^\n]{5,100}$/);
    }
    expect(loadConfig({}).salesforce.requestTimeoutMs).toBe(
      Number(CONFIG_VARIABLES.SF_REQUEST_TIMEOUT_MS.default),
    );
  });

  it('never repeats the value of a sensitive variable in its message', () => {
    const leaks = ['leaky-secret value', 'leaky,,secret', 'leaky:', 'http://leaky@x y'];
    for (const [name, variable] of variables.filter(([, v]) => v.sensitive)) {
      for (const value of leaks) {
        try {
          variable.read(value, name);
        } catch (err) {
          expect(isConfigError(err), name).toBe(true);
          expect((err as Error).message, name).not.toContain('leaky');
        }
      }
    }
  });
});
