import { defineConfig } from 'vitest/config';

// Tests spawn real processes (producers, consumers, Chromium): generous timeouts, few
// workers on these 2-core machines. Child processes run the compiled dist/ (npm test
// builds it first).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the pack-and-install test (2-10 min: npm pack builds everything) is its own suite:
    // npm run test:pack (vitest.pack.mts), run by .ci/run after npm test
    exclude: ['test/pack-install.test.ts', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
