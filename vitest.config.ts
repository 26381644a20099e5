import { defineConfig } from 'vitest/config';

// Three projects: fast unit tests, integration tests against real Redis / anvil / FFmpeg / werift,
// and browser e2e in Debian Chromium. `npm test` runs all three.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/redis.global.ts', 'test/setup/anvil.global.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Media and chain tests are CPU-heavy on a 2-core machine; run files one at a time.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/setup/player.global.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
