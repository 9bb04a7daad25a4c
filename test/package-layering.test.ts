import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layout states the architecture (docs/design.md#package-layout): arrows only downward,
 *
 *   cli → ingest, worker → producer, salesforce → shared
 *
 * the simulator stands alone, and no product package imports the simulator or the test kit (the
 * cli alone does, for its `simulator` and `demo` commands). Checked from every package.json and
 * every import (static or dynamic) of every source file.
 */
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SCOPE = '@flow-dispatcher/';

/** The internal packages each package may depend on. */
const ALLOWED: Record<string, readonly string[]> = {
  shared: [],
  testkit: [],
  simulator: [],
  salesforce: ['shared'],
  producer: ['shared'],
  ingest: ['shared', 'salesforce', 'producer'],
  worker: ['shared', 'salesforce'],
  cli: ['shared', 'salesforce', 'producer', 'ingest', 'worker', 'simulator', 'testkit'],
};

/** What the library a backend installs must not bring (an HTTP server, an admin UI, a Salesforce client). */
const NOT_IN_PRODUCER = ['fastify', '@bull-board/api', '@bull-board/fastify', 'undici'];

function packages(): string[] {
  return readdirSync(join(REPO, 'packages')).filter((name) =>
    statSync(join(REPO, 'packages', name)).isDirectory(),
  );
}

function manifest(name: string): { name: string; dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(REPO, 'packages', name, 'package.json'), 'utf8'));
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Every `@flow-dispatcher/<name>` a file imports, statically or with `import()`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)'@flow-dispatcher\/([a-z-]+)/g)) {
    found.add(match[1] as string);
  }
  return [...found];
}

describe('package layering', () => {
  it('knows every package (a new one must be placed in the layering first)', () => {
    expect(packages().sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  for (const name of Object.keys(ALLOWED)) {
    it(`${name}: declares and imports only the packages below it`, () => {
      const declared = Object.keys(manifest(name).dependencies ?? {})
        .filter((dep) => dep.startsWith(SCOPE))
        .map((dep) => dep.slice(SCOPE.length));
      expect(declared.filter((dep) => !ALLOWED[name]?.includes(dep))).toEqual([]);
      const upward: string[] = [];
      const undeclared: string[] = [];
      for (const file of sources(join(REPO, 'packages', name, 'src'))) {
        for (const target of importsOf(file)) {
          const where = `${file.slice(REPO.length)} → ${target}`;
          if (target === name) upward.push(`${where} (itself, by name)`);
          else if (!ALLOWED[name]?.includes(target)) upward.push(where);
          else if (!declared.includes(target)) undeclared.push(where);
        }
      }
      expect(upward).toEqual([]);
      expect(undeclared).toEqual([]);
    });
  }

  it('keeps the simulator and the test kit out of every product package but the cli', () => {
    for (const name of ['shared', 'salesforce', 'producer', 'ingest', 'worker']) {
      expect(ALLOWED[name]).not.toContain('simulator');
      expect(ALLOWED[name]).not.toContain('testkit');
    }
    expect(manifest('simulator').dependencies ?? {}).not.toHaveProperty(`${SCOPE}shared`);
  });

  it('keeps an HTTP server, the admin UI and the Salesforce client out of the producer', () => {
    // The producer's own dependencies and those of the one workspace package it uses.
    const tree = ['producer', 'shared'].flatMap((name) =>
      Object.keys(manifest(name).dependencies ?? {}),
    );
    expect(tree.filter((dep) => NOT_IN_PRODUCER.includes(dep))).toEqual([]);
  });
});
