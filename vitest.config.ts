import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real sockets and servers per file: keep files apart, but do not oversubscribe 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // The flood test reads the heap after a forced collection.
    execArgv: ['--expose-gc'],
    setupFiles: ['test/setup.ts'],
  },
});
