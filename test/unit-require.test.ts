import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { transportNames } from '../transports/registry';
import { isRequired, requireGroups } from './support/require';
import { ROOT } from './support/cli';

/**
 * FRAMEBENCH_REQUIRE (test/support/require.ts): the setting parsed directly, and
 * requireOrSkip() seen from outside, in a child vitest running test/fixtures-require/
 * group.fixture.ts, whose 'perf' group cannot run when FB_FIXTURE_REASON is set.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-require-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('isRequired', () => {
  it('nothing is required when the setting is empty', () => {
    for (const setting of ['', ' , ']) {
      for (const g of requireGroups()) expect(isRequired(g, setting), `${g} with ${JSON.stringify(setting)}`).toBe(false);
    }
  });

  it("'all' requires every group; a comma list exactly the groups it names", () => {
    for (const g of requireGroups()) expect(isRequired(g, 'all'), g).toBe(true);
    expect(requireGroups().filter((g) => isRequired(g, 'shm, redis,perf'))).toEqual(['shm', 'redis', 'perf']);
    expect(requireGroups().filter((g) => isRequired(g, 'chromium,all'))).toEqual(requireGroups());
  });

  it('every transport is a group; an unknown name in the setting or the call is refused', () => {
    expect(requireGroups()).toEqual(expect.arrayContaining(transportNames()));
    expect(() => isRequired('shm', 'shm,rdis')).toThrow(/unknown group 'rdis'/);
    expect(() => isRequired('nosuchgroup', 'all')).toThrow(/'nosuchgroup' is not a group name/);
  });
});

interface AssertionResult { fullName: string; status: string; failureMessages: string[] }
interface ChildRun { code: number | null; output: string; tests: Record<string, { status: string; failure: string }> }

let runs = 0;
/** group.fixture.ts in a child vitest with exactly these two variables set (or unset). */
function runFixture(setting: string | undefined, reason: string | undefined): Promise<ChildRun> {
  const json = path.join(tmp, `run-${++runs}.json`);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VITEST') && k !== 'FRAMEBENCH_REQUIRE' && k !== 'FB_FIXTURE_REASON') env[k] = v;
  if (setting !== undefined) env.FRAMEBENCH_REQUIRE = setting;
  if (reason !== undefined) env.FB_FIXTURE_REASON = reason;
  env.NO_COLOR = '1';
  const args = [path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'test/fixtures-require/vitest.config.mts',
    '--reporter=default', '--reporter=json', `--outputFile.json=${json}`];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000); // a hang, not a slow machine
    child.on('close', (code) => {
      clearTimeout(timer);
      const tests: ChildRun['tests'] = {};
      try {
        const report = JSON.parse(readFileSync(json, 'utf8')) as { testResults: { assertionResults: AssertionResult[] }[] };
        for (const a of report.testResults.flatMap((f) => f.assertionResults)) tests[a.fullName] = { status: a.status, failure: a.failureMessages.join('\n') };
      } catch {
        // no report: the run failed before any test (the output says why)
      }
      resolve({ code, output, tests });
    });
  });
}

const GROUP_TEST = 'the perf group runs when it can';
const OTHER_TEST = 'a test outside the group runs either way';
const REQUIRED_TEST = (setting: string) => `perf: required here (FRAMEBENCH_REQUIRE=${setting}) but cannot run`;

describe('requireOrSkip in a child vitest', () => {
  it('unset: a group that cannot run is skipped with a warning naming the reason; the run passes', async () => {
    const r = await runFixture(undefined, 'perf is not installed');
    expect(r.code, r.output).toBe(0);
    expect(r.tests).toEqual({
      [GROUP_TEST]: { status: 'skipped', failure: '' },
      [OTHER_TEST]: { status: 'passed', failure: '' },
    });
    expect(r.output).toContain('skipping perf: perf is not installed');
  }, 60_000);

  it('all: the same group fails with its reason instead; the other tests still run', async () => {
    const r = await runFixture('all', 'perf is not installed');
    expect(r.code, r.output).toBe(1);
    expect(Object.keys(r.tests).sort()).toEqual([GROUP_TEST, OTHER_TEST, REQUIRED_TEST('all')].sort());
    expect(r.tests[REQUIRED_TEST('all')].status).toBe('failed');
    expect(r.tests[REQUIRED_TEST('all')].failure).toContain('perf cannot run here: perf is not installed');
    expect(r.tests[GROUP_TEST].status).toBe('skipped');
    expect(r.tests[OTHER_TEST].status).toBe('passed');
  }, 60_000);

  it('a comma list fails the groups it names and skips the others', async () => {
    const named = await runFixture('shm,perf', 'no perf');
    expect(named.code, named.output).toBe(1);
    expect(named.tests[REQUIRED_TEST('shm,perf')]?.status).toBe('failed');
    const other = await runFixture('shm,redis', 'no perf');
    expect(other.code, other.output).toBe(0);
    expect(other.tests[GROUP_TEST].status).toBe('skipped');
  }, 60_000);

  it('all, and the group can run: it runs, nothing is added', async () => {
    const r = await runFixture('all', undefined);
    expect(r.code, r.output).toBe(0);
    expect(r.tests).toEqual({
      [GROUP_TEST]: { status: 'passed', failure: '' },
      [OTHER_TEST]: { status: 'passed', failure: '' },
    });
  }, 60_000);

  it('a misspelt group name fails the run instead of requiring nothing', async () => {
    const r = await runFixture('prf', 'no perf');
    expect(r.code).toBe(1);
    expect(r.output).toContain("unknown group 'prf'");
  }, 60_000);
});
