import { defineConfig } from 'vitest/config';

/**
 * Three projects: `unit` (pure, no servers, parallel), `deploy` (offline validation of
 * deploy/ with real helm and the checker) and `integration` (real servers that
 * global-setup.ts starts once on free ports; one file at a time, since the machine has
 * two cores and the servers need them too).
 */
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          // deploy/: helm and tally-deploy-check (scripts/build-deploy-tools.sh builds them) on
          // the chart, the compose files and the Dockerfile; no servers, one file at a time.
          name: 'deploy',
          include: ['test/deploy/**/*.test.ts'],
          testTimeout: 60_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
