import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Peers bind real loopback sockets; two workers suit the 2-core machines here.
    maxWorkers: 2,
    pool: 'forks',
  },
});
