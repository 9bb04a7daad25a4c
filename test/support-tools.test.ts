import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CHROMIUM, requireTool } from './support/tools.js';

/**
 * The helper that decides whether a test needing promtool, Chromium, kubectl, docker-compose or
 * openssl runs, is skipped with a reason (a development machine without the tool) or fails (CI).
 * Checked against a PATH of its own, so the machine's tools do not matter.
 */
describe('requireTool', () => {
  const root = mkdtempSync(join(tmpdir(), 'fd-tools-'));
  const bin = join(root, 'bin');
  const other = join(root, 'other');
  mkdirSync(bin);
  mkdirSync(other);
  const tool = (dir: string, name: string, mode = 0o755) => {
    const file = join(dir, name);
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, mode);
    return file;
  };
  const promtool = tool(other, 'promtool');
  tool(bin, 'kubectl', 0o644); // not executable: not a tool
  const chromiumBrowser = tool(other, 'chromium-browser');
  const explicit = tool(root, 'my-chrome');
  const PATH = `${bin}:relative/dir:${other}`;
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds a tool on PATH, in any of its directories', () => {
    expect(requireTool('promtool', { install: 'x', environment: { PATH } })).toEqual({
      path: promtool,
    });
  });

  it('without the tool: a skip reason with the install command, printed once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const options = { install: 'apt-get install kubectl', environment: { PATH } };
      expect(requireTool('kubectl', options)).toEqual({
        reason: 'kubectl not found: apt-get install kubectl',
      });
      expect(requireTool('kubectl', options).path).toBeUndefined();
      expect(warn.mock.calls).toEqual([
        ['skipping the tests that need kubectl: kubectl not found: apt-get install kubectl'],
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('under CI a missing tool throws instead', () => {
    expect(() =>
      requireTool('docker-compose', {
        install: 'apt-get install docker-compose',
        environment: { PATH, CI: 'true' },
      }),
    ).toThrow('docker-compose not found: apt-get install docker-compose (CI=true');
    // CI with the tool: its path, no error.
    expect(requireTool('promtool', { install: 'x', environment: { PATH, CI: 'true' } })).toEqual({
      path: promtool,
    });
  });

  it('Chromium: CHROMIUM_PATH first, then its names on PATH; a wrong CHROMIUM_PATH is reported', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(requireTool('chromium', { ...CHROMIUM, environment: { PATH } }).path).toBe(
        chromiumBrowser,
      );
      expect(
        requireTool('chromium', { ...CHROMIUM, environment: { PATH, CHROMIUM_PATH: explicit } }),
      ).toEqual({ path: explicit });
      expect(
        requireTool('chromium', {
          ...CHROMIUM,
          environment: { PATH, CHROMIUM_PATH: join(root, 'missing') },
        }),
      ).toEqual({
        reason: `chromium not found: CHROMIUM_PATH=${join(root, 'missing')} is not an executable file`,
      });
      // Nothing on PATH: the places Debian and snap install it, then the install command.
      const none = requireTool('chromium', {
        ...CHROMIUM,
        paths: [join(root, 'no-such-chromium')],
        environment: { PATH: bin },
      });
      expect(none).toEqual({
        reason: 'chromium not found: apt-get install chromium (or set CHROMIUM_PATH)',
      });
      expect(
        requireTool('chromium', { ...CHROMIUM, paths: [explicit], environment: { PATH: bin } }),
      ).toEqual({ path: explicit });
    } finally {
      warn.mockRestore();
    }
  });
});

/**
 * The same, through a real test file: observability-prometheus.test.ts run by vitest with a PATH
 * that has everything but prometheus and promtool (symlinks to the rest), as on a fresh machine.
 */
describe('a test file whose tool is missing', () => {
  const REPO = join(import.meta.dirname, '..');
  const shadow = mkdtempSync(join(tmpdir(), 'fd-no-prometheus-'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || !existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (name === 'prometheus' || name === 'promtool' || existsSync(join(shadow, name))) continue;
      try {
        if (statSync(join(dir, name)).isFile()) symlinkSync(join(dir, name), join(shadow, name));
      } catch {
        // a dangling link or an unreadable entry: not a tool
      }
    }
  }
  afterAll(() => rmSync(shadow, { recursive: true, force: true }));

  function vitest(ci: boolean): Promise<{ code: number | null; output: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: shadow };
    delete env.CI;
    // The outer run's JSON report (CI) is not this run's to write.
    delete env.VITEST_JSON_REPORT;
    delete env.FORCE_COLOR;
    env.NO_COLOR = '1';
    if (ci) env.CI = 'true';
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          join(REPO, 'node_modules/vitest/vitest.mjs'),
          'run',
          '--project',
          'integration',
          'test/observability-prometheus.test.ts',
        ],
        { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        output += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        output += d;
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, output }));
    });
  }

  it('is skipped with the reason and the install command, and the run passes', async () => {
    const { code, output } = await vitest(false);
    expect(output).toContain(
      'skipping the tests that need prometheus: prometheus not found: apt-get install prometheus',
    );
    // Every test of the file skipped, however many it has.
    expect(output).toMatch(/Tests\s+(\d+) skipped \(\1\)/);
    expect(code, output).toBe(0);
  });

  it('fails the run under CI=true', async () => {
    const { code, output } = await vitest(true);
    expect(output).toContain(
      'prometheus not found: apt-get install prometheus (CI=true: CI installs every tool',
    );
    expect(code).toBe(1);
  });
});
