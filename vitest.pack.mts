import { defineConfig } from 'vitest/config';

// `npm run test:pack`: the package as a user installs it (test/pack-install.test.ts), apart from
// `npm test` because npm pack rebuilds the TypeScript and the native code (minutes). CI runs both.
export default defineConfig({
  test: {
    include: ['test/pack-install.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
