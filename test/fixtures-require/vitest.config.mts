import { defineConfig } from 'vitest/config';

// Only for unit-require.test.ts, which runs group.fixture.ts in a child vitest from the
// project root. Not part of the suite (the suite's include is test/**/*.test.ts).
export default defineConfig({
  test: {
    include: ['test/fixtures-require/*.fixture.ts'],
    pool: 'forks',
    maxWorkers: 1,
  },
});
