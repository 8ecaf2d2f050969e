import { describe, expect, it } from 'vitest';
import { requireOrSkip } from '../support/require';

// Run by unit-require.test.ts in a child vitest: group 'perf' cannot run when FB_FIXTURE_REASON is set.
const reason = process.env.FB_FIXTURE_REASON ?? null;

describe.skipIf(requireOrSkip('perf', reason))('the perf group', () => {
  it('runs when it can', () => {
    expect(reason).toBeNull();
  });
});

it('a test outside the group runs either way', () => {
  expect(1 + 1).toBe(2);
});
