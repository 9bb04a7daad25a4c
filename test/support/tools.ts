import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Tools a test needs besides Node and Redis (promtool, Chromium, kubectl, docker-compose,
 * openssl). On a development machine without the tool, the tests that need it are skipped and
 * the output says why and how to install it; under `CI=true` a missing tool is a failure (CI
 * installs every tool: .ci/run), so a CI machine can never pass by skipping.
 *
 *     const promtool = requireTool('promtool', { install: 'apt-get install prometheus' });
 *     describe.skipIf(!promtool.path)('rules', () => { ... run(promtool.path, [...]) ... });
 */
export type Tool = { path: string; reason?: undefined } | { path?: undefined; reason: string };

export interface ToolOptions {
  /** How to install it, as printed in the skip reason: "apt-get install prometheus". */
  install: string;
  /** Names to look for on PATH, in order; default: the tool's name. */
  names?: string[];
  /** An environment variable that names the executable; when set, nothing else is tried. */
  env?: string;
  /** Absolute paths tried after PATH (where a package puts it outside the usual PATH). */
  paths?: string[];
  /** For tests of this helper: the environment to read (default: process.env). */
  environment?: NodeJS.ProcessEnv;
}

/** Chromium wherever Debian, Ubuntu's snap or a user put it. */
export const CHROMIUM: ToolOptions = {
  install: 'apt-get install chromium (or set CHROMIUM_PATH)',
  env: 'CHROMIUM_PATH',
  names: ['chromium', 'chromium-browser', 'google-chrome'],
  paths: ['/usr/bin/chromium', '/snap/bin/chromium'],
};

const warned = new Set<string>();

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `name` is, or undefined: the same look-up as the shell's `command -v`, without a shell. */
export function findTool(
  name: string,
  options: Omit<ToolOptions, 'install'> = {},
): string | undefined {
  const env = options.environment ?? process.env;
  const override = options.env ? env[options.env] : undefined;
  if (override) return executable(override) ? override : undefined;
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir && isAbsolute(dir));
  for (const candidate of options.names ?? [name]) {
    for (const dir of dirs) {
      const file = join(dir, candidate);
      if (executable(file)) return file;
    }
  }
  return options.paths?.find(executable);
}

/**
 * The tool's path, or the reason to skip the tests that need it ("promtool not found: apt-get
 * install prometheus"), printed once per tool with console.warn. Under CI=true a missing tool
 * throws, which fails the test file that asked for it.
 */
export function requireTool(name: string, options: ToolOptions): Tool {
  const env = options.environment ?? process.env;
  const path = findTool(name, options);
  if (path) return { path };
  const override = options.env ? env[options.env] : undefined;
  const reason = override
    ? `${name} not found: ${options.env}=${override} is not an executable file`
    : `${name} not found: ${options.install}`;
  if (env.CI && env.CI !== 'false' && env.CI !== '0') {
    throw new Error(`${reason} (CI=${env.CI}: CI installs every tool the tests use, see .ci/run)`);
  }
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(`skipping the tests that need ${name}: ${reason}`);
  }
  return { reason };
}
