import { defineConfig } from 'vitest/config';

// Three projects: unit (pure, no root), integration (real kernel, root), e2e (the real CLI).
// One global setup snapshots the kernel objects with the project's prefixes and fails the
// run when any were added (test/harness/global-setup.ts).
export default defineConfig({
  test: {
    globalSetup: ['test/harness/global-setup.ts'],
    reporters: process.env.CI ? ['default'] : ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
