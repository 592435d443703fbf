import { defineConfig } from 'vitest/config';

// chDB is one engine per process and segfaults under worker threads: every test file runs in its own
// forked process (measured: `threads` crashes, `forks` passes).
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['tests/setup/kafka.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // One broker, two cores: `npm test` runs these files one after another
          // (--no-file-parallelism), each in its own forked process (chDB binds one data dir per process).
        },
      },
    ],
  },
});
