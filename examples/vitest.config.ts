import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * For the example app test only (`npx vitest run --config examples/vitest.config.ts`). The
 * project's own config includes `test/**` alone, so the example is not run twice: CI runs it
 * through test/examples.test.ts, like every other example.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.test.ts'],
  },
});
