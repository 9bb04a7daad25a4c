import { fileURLToPath } from 'node:url';

/**
 * The built `flow-dispatcher` binary, run as `node CLI_BIN <command>`: the cli package's `bin`
 * (dist/bin.js), which sits beside the entry point its exports name.
 */
export const CLI_BIN = fileURLToPath(
  new URL('./bin.js', import.meta.resolve('@flow-dispatcher/cli')),
);

/** A bench child's entry point (compiled beside this file, under `roles/`). */
export function roleScript(
  name: 'load-generator' | 'b0-consumer' | 'b2-worker' | 'ingest-load-generator',
): string {
  return fileURLToPath(new URL(`./roles/${name}.js`, import.meta.url));
}

/** The image's Dockerfile, whose NODE_OPTIONS the single scenario runs ingest with. */
export const DOCKERFILE = fileURLToPath(new URL('../../deploy/docker/Dockerfile', import.meta.url));

/** Where runs are written by default: `bench/results/`. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
