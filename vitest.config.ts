import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code beside the sources, no I/O beyond loopback) and
// `integration` (cross-package and fault tests under test/, real Redis, real processes).
// Integration files run one at a time: they start processes and measure what reaches the
// simulator, and two of them competing for the machine's two cores makes timings noisy.
// CI asks for a machine-readable report too (VITEST_JSON_REPORT=path), so that the README's plain
// `pnpm test` is exactly what it runs.
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  test: {
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
