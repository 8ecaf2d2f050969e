import { it } from 'vitest';
import { transportNames } from '../../transports/registry';

/**
 * FRAMEBENCH_REQUIRE: which test groups must run on this machine.
 *
 * - unset or empty: a group that cannot run here (a broken native build, no redis-server, no
 *   Chromium, no perf) is skipped with a warning, so a laptop without them still tests the rest;
 * - `all`, or a comma list of group names (`shm,redis,perf`): such a group FAILS with its
 *   reason instead of being skipped. CI sets `all`: a green run there means everything ran.
 *
 * Group names: every registered transport name, and the names in OTHER_GROUPS. An unknown name
 * is refused, so a typo cannot turn the setting off.
 */
export const REQUIRE_VAR = 'FRAMEBENCH_REQUIRE';

/** Groups that are not transports: what each needs from the machine. */
export const OTHER_GROUPS: Record<string, string> = {
  chromium: 'the HTML report checked in headless Chromium',
  perf: 'Linux perf for the --flame profiles',
  cc: 'a C compiler for the copy counter checked from a C child',
  copycount: 'the LD_PRELOAD copy counter (Linux only)',
};

/** Every group name FRAMEBENCH_REQUIRE accepts, besides `all`. */
export function requireGroups(): string[] {
  return [...transportNames(), ...Object.keys(OTHER_GROUPS)];
}

/** Whether `setting` (default: the environment's FRAMEBENCH_REQUIRE) requires `group`. Throws on an unknown name. */
export function isRequired(group: string, setting: string | undefined = process.env[REQUIRE_VAR]): boolean {
  const known = requireGroups();
  if (!known.includes(group)) throw new Error(`${REQUIRE_VAR}: '${group}' is not a group name (known: ${known.join(', ')})`);
  const names = (setting ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (n !== 'all' && !known.includes(n)) throw new Error(`${REQUIRE_VAR}=${setting}: unknown group '${n}' (known: all, ${known.join(', ')})`);
  }
  return names.includes('all') || names.includes(group);
}

/**
 * Decides the tests of `group`, which cannot run here when `reason` is non-null. Returns
 * whether to skip them (for `describe.skipIf` / `it.skipIf`):
 * - `reason` null: false, the tests run;
 * - not required: true, with a warning naming the reason;
 * - required (FRAMEBENCH_REQUIRE): true, and in their place one test that fails with the reason.
 * Call it where a test is declared (in a file or `describe` body), never inside a test.
 */
export function requireOrSkip(group: string, reason: string | null): boolean {
  const setting = process.env[REQUIRE_VAR];
  const required = isRequired(group, setting);
  if (reason === null) return false;
  if (required) {
    it(`${group}: required here (${REQUIRE_VAR}=${setting}) but cannot run`, () => {
      throw new Error(`${group} cannot run here: ${reason}`);
    });
  } else {
    console.warn(`skipping ${group}: ${reason} (${REQUIRE_VAR}=all makes this a failure)`);
  }
  return true;
}
