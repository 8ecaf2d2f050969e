import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmAb, GATE_AB_SCHEMA, judgeAb, pairedChange, type AbOutcome } from '../core/gate-ab';
import { ROOT } from './support/cli';

describe('paired A/B decisions (pure)', () => {
  it('the change is paired round by round, so a drift that moves both sides cancels', () => {
    // the machine slows down 3x over the rounds; head is 5% slower than base in every round
    const base = [10, 15, 20, 25, 30, 30];
    const head = base.map((x) => x * 1.05);
    const c = pairedChange({ base, head });
    expect(c.median).toBeCloseTo(0.05, 6);
    expect(c.lo).toBeCloseTo(0.05, 6);
    expect(judgeAb('t', 'copyEquivalents', { base, head }, 0.1, 0.25).verdict).toBe('pass'); // under 10%
    const slow = base.map((x) => x * 1.3);
    expect(judgeAb('t', 'copyEquivalents', { base, head: slow }, 0.1, 0.25).verdict).toBe('regression');
  });
  it('a median above the threshold fails only when the interval lies wholly above zero', () => {
    const base = [10, 10, 10, 10, 10, 10];
    const noisy = [13, 13, 13, 7, 13, 13]; // one round faster: the 6-round interval [x(1), x(6)] reaches below 0
    expect(judgeAb('t', 'copyEquivalents', { base, head: noisy }, 0.1, 0.25).verdict).toBe('pass');
    expect(judgeAb('t', 'copyEquivalents', { base, head: [13, 13, 13, 12, 13, 13] }, 0.1, 0.25).verdict).toBe('regression');
    expect(judgeAb('t', 'copyEquivalents', { base, head: [7, 7, 7, 8, 7, 7] }, 0.1, 0.25).verdict).toBe('improved');
  });
  it('failed windows leave their round out; too few pairs is "unmeasured"', () => {
    expect(pairedChange({ base: [10, NaN, 10], head: [11, 12, NaN] }).n).toBe(1);
    expect(judgeAb('t', 'copyEquivalents', { base: [10, NaN, 10], head: [11, 12, NaN] }, 0.1, 0.25).verdict).toBe('unmeasured');
  });
  it('passes per frame are an exact check on the medians', () => {
    const r = judgeAb('t', 'passes.producer', { base: [1, 1, 1], head: [2, 2, 2] }, 0.1, 0.25);
    expect(r.verdict).toBe('regression');
    expect(r.delta).toBe(1);
    expect(judgeAb('t', 'passes.producer', { base: [1, 1, 1], head: [1.1, 1.1, 1] }, 0.1, 0.25).verdict).toBe('pass');
  });
  it('passes that spread across one side\'s rounds (ws read chunking) widen the bound; an extra copy in every round still fails', () => {
    // ws consumer passes seen in one run's rounds: 3.44-3.93, depending on how the kernel splits reads
    const base = [3.44, 3.46, 3.45, 3.45];
    const chunky = judgeAb('ws', 'passes.consumer', { base, head: [3.45, 3.93, 3.9, 3.92] }, 0.1, 0.25);
    expect(chunky.delta).toBeGreaterThan(0.25);
    expect(chunky.bound).toBeCloseTo(0.48 + 0.05, 6);
    expect(chunky.verdict).toBe('pass');
    expect(judgeAb('ws', 'passes.consumer', { base, head: [4.45, 4.46, 4.44, 4.45] }, 0.1, 0.25).verdict).toBe('regression');
    expect(judgeAb('ws', 'passes.consumer', { base: [3.44, 3.93, 3.45, 3.9], head: [4.45, 4.93, 4.44, 4.9] }, 0.1, 0.25).verdict).toBe('regression');
  });
  it('a regression counts only when the confirmation rounds repeat it', () => {
    const b = [10, 10, 10, 10];
    const first = [judgeAb('a', 'copyEquivalents', { base: b, head: [13, 13, 13, 13] }, 0.1, 0.25), judgeAb('b', 'copyEquivalents', { base: b, head: [13, 13, 13, 13] }, 0.1, 0.25)];
    const second = [judgeAb('a', 'copyEquivalents', { base: b, head: [13, 13, 13, 13] }, 0.1, 0.25), judgeAb('b', 'copyEquivalents', { base: b, head: [10, 10, 10, 10] }, 0.1, 0.25)];
    const c = confirmAb(first, second);
    expect(c.failed.map((r) => r.transport)).toEqual(['a']);
    expect(c.unconfirmed.map((r) => r.transport)).toEqual(['b']);
  });
});

/**
 * The proof: a temporary git repository holding this tree, a scratch commit that adds pure CPU
 * work to the unix transport's source (no switch: a change to the code), and `bench gate
 * --against` run from that repository's own build. Short windows, 720p, 3 paired rounds.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-gate-ab-'));
const clone = path.join(tmp, 'repo');
// slow-ish on a shared 2-core machine (each gate builds the ref with tsc and measures 3 paired rounds): the
// timeouts are generous because neighbours' load can stretch every step several times over
const SHORT = ['--resolution', '720p', '--duration', '1', '--warmup-max', '0', '--repeats', '3'];
const git = (...args: string[]): string => execFileSync('git', ['-C', clone, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const tsc = (): void => {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: clone, stdio: 'pipe' });
};
/** The clone's own `bench` (its dist), run in the clone. */
function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(clone, 'bin', 'bench.js'), ...args], { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 390_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
afterAll(() => {
  try {
    execFileSync('git', ['-C', clone, 'worktree', 'prune'], { stdio: 'ignore' });
  } catch {
    /* no repository made */
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** The tree as it is (tracked and untracked, not ignored), with this tree's native build, as a new repository. */
function makeClone(): void {
  const files = execFileSync('git', ['-C', ROOT, 'ls-files', '-co', '--exclude-standard', '-z'], { encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    const from = path.join(ROOT, f);
    if (!existsSync(from) || f === 'node_modules') continue;
    mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
    copyFileSync(from, path.join(clone, f));
  }
  for (const d of ['native/build', 'native/copycount/build']) cpSync(path.join(ROOT, d), path.join(clone, d), { recursive: true });
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(clone, 'node_modules'), 'dir');
  git('init', '-q');
  writeFileSync(path.join(clone, '.git', 'info', 'exclude'), 'node_modules\n');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '-A');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'base');
  tsc();
}

const commit = (msg: string): void => {
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-a', '-m', msg);
};

describe('bench gate --against (real trees)', () => {
  beforeAll(() => makeClone(), 300_000);

  it('an unknown ref is FB_ERR_GATE_REF, exit 2', async () => {
    const r = await bench(['gate', '--against', 'no-such-ref', '--transport', 'unix']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('FB_ERR_GATE_REF');
  });

  it('an unchanged tree passes, with a JSON outcome carrying its schema id', async () => {
    const r = await bench(['gate', '--against', 'HEAD', '--transport', 'unix', ...SHORT, '--out', path.join(tmp, 'out1'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as AbOutcome;
    expect(o.schema).toBe(GATE_AB_SCHEMA);
    expect(o.rows.find((x) => x.metric === 'copyEquivalents')?.change?.n).toBe(3);
    expect(readFileSync(path.join(tmp, 'out1', 'gate.md'), 'utf8')).toContain('framebench gate: pass');
    expect(git('worktree', 'list').trim().split('\n')).toHaveLength(1); // the ref's worktree is gone
  }, 400_000);

  it('pure CPU work added to the unix transport fails the gate naming unix, and only unix', async () => {
    const file = path.join(clone, 'transports', 'unix.ts');
    const src = readFileSync(file, 'utf8');
    const planted = src
      .replace(
        '    return StreamSender.open({ path: socketFile(address) }, opts, address, false, ZERO_TOKEN);',
        [
          '    const sender = await StreamSender.open({ path: socketFile(address) }, opts, address, false, ZERO_TOKEN);',
          '    const send = sender.send.bind(sender);',
          '    sender.send = (frame: Uint8Array) => {',
          '      let h = 0;',
          '      for (let i = 0; i < 6_000_000; i++) h = (Math.imul(h, 31) + frame[i % frame.length]) | 0;',
          '      if (h === 0x7fffffff) sender.stats();',
          '      return send(frame);',
          '    };',
          '    return sender;',
        ].join('\n'),
      );
    expect(planted).not.toBe(src);
    writeFileSync(file, planted);
    commit('scratch: CPU work in the unix send path');
    tsc();
    const r = await bench(['gate', '--against', 'HEAD~1', '--transport', 'unix,tcp', ...SHORT, '--out', path.join(tmp, 'out2')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/REGRESSION: unix copyEquivalents/);
    expect(r.stderr).not.toMatch(/REGRESSION: tcp/);
    expect(r.stderr).toMatch(/gate: FAIL \(1 regression\(s\): unix\)/);
  }, 400_000);

  it('a ref under another methodology version: says so, exit 2', async () => {
    const file = path.join(clone, 'core', 'result.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/export const METHODOLOGY_VERSION = \d+;/, 'export const METHODOLOGY_VERSION = 99;'));
    commit('scratch: another methodology');
    const r = await bench(['gate', '--against', 'HEAD', '--transport', 'unix', ...SHORT]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('FB_ERR_METHODOLOGY_MISMATCH');
    expect(r.stderr).toMatch(/methodology 99/);
    expect(r.stderr).not.toContain('building'); // refused before anything is built
  }, 120_000);
});
