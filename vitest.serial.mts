import { defineConfig } from 'vitest/config';

// The second half of `npm test`: tests that compare a measurement with one made moments earlier
// (test/gate.test.ts: a baseline, then the gate against it) run alone, after the parallel suite.
// Beside other test files on a 2-core machine the load shifts between the two measurements and an
// unchanged transport read +65% (a CI run), which no noise band of three repeats can tell from a
// regression; the gate itself runs alone in CI too (.ci/run).
export default defineConfig({
  test: {
    include: ['test/gate.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
