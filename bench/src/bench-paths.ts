import { fileURLToPath } from 'node:url';

/** The built `flow-dispatcher` binary, run as `node CLI_BIN <command>`. */
export const CLI_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** A bench child's entry point (compiled beside this file, under `roles/`). */
export function roleScript(name: 'load-generator' | 'b0-consumer' | 'b2-worker'): string {
  return fileURLToPath(new URL(`./roles/${name}.js`, import.meta.url));
}

/** Where runs are written by default: `bench/results/`. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));
