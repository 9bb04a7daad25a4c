import { readFileSync } from 'node:fs';

/**
 * The release's version, read from this package's package.json (every package of the release
 * shares it): `flow-dispatcher --version` and `flow_dispatcher_build_info{version}`.
 */
export function packageVersion(): string {
  try {
    const url = new URL('../package.json', import.meta.url);
    const version = (JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
