/**
 * Copy counter (LD_PRELOAD interposer + shared counter page), tested with real
 * child processes. Builds native/copycount/build/libframebench_copycount.so
 * with `node native/copycount/build.js` if it is missing (so `npm test` works
 * without `npm run build:native` first). Skipped off Linux.
 *
 * Overhead figures are a measurement, not a test: `npm run bench:copycount-overhead`.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  COPYCOUNT_LAYOUT,
  CopyCountPage,
  type CopyCounters,
  bucketLabel,
  copyCountLibPath,
  copyCountUnavailableReason,
  diffCopyCounters,
  parseCopyCounters,
  readCopyCounters,
} from '../measure/copycount';
import { requireOrSkip } from './support/require';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures-copycount');
const COPIER = path.join(FIXTURES, 'copier.js');
const MiB = 1 << 20;
const N = 100;

/** Bucket of a size, as the interposer computes it (bit length). */
function bucketOf(size: number): number {
  return size === 0 ? 0 : Math.min(63, Math.floor(Math.log2(size)) + 1);
}

function callsFrom(c: CopyCounters, firstBucket: number): number {
  return c.bucketCalls.slice(firstBucket).reduce((a, b) => a + b, 0);
}

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a child; if `onLine` is given it is called with the first stdout line (e.g. to kill the child). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, onLine?: (kill: () => void) => void): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (onLine && !signalled && stdout.includes('\n')) {
        signalled = true;
        onLine(() => child.kill('SIGKILL'));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The copier's own before/after snapshots, decoded and subtracted. */
function loopDelta(stdout: string): CopyCounters {
  const j = JSON.parse(stdout.split('\n')[0]) as { before: string; after: string };
  return diffCopyCounters(parseCopyCounters(Buffer.from(j.after, 'base64')), parseCopyCounters(Buffer.from(j.before, 'base64')));
}

const pages: CopyCountPage[] = [];
function newPage(): CopyCountPage {
  const p = CopyCountPage.create();
  pages.push(p);
  return p;
}
afterEach(() => {
  for (const p of pages.splice(0)) p.unlink();
});

describe.skipIf(requireOrSkip('copycount', process.platform === 'linux' ? null : `Linux only, this is ${process.platform}`))('copy counter', () => {
  beforeAll(() => {
    if (fs.existsSync(copyCountLibPath())) return;
    const r = spawnSync(process.execPath, [path.join(ROOT, 'native', 'copycount', 'build.js')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`build.js failed: ${r.stderr}`);
  }, 60_000);

  it('the library loads (probe)', () => {
    expect(copyCountUnavailableReason()).toBeNull();
  });

  it('layout constants mirror copycount.c', () => {
    const c = fs.readFileSync(path.join(ROOT, 'native', 'copycount', 'copycount.c'), 'utf8');
    const def = (name: string) => c.match(new RegExp(`#define ${name} (\\S+)`))?.[1];
    expect(BigInt(def('CC_MAGIC')!.replace(/ULL$/, ''))).toBe(COPYCOUNT_LAYOUT.magic);
    expect(Number(def('CC_VERSION'))).toBe(COPYCOUNT_LAYOUT.version);
    expect(Number(def('CC_HEADER_SIZE'))).toBe(COPYCOUNT_LAYOUT.headerSize);
    expect(Number(def('CC_BUCKETS'))).toBe(COPYCOUNT_LAYOUT.buckets);
    expect(Number(def('CC_BUCKET_STRIDE'))).toBe(COPYCOUNT_LAYOUT.bucketStride);
    expect(Number(def('CC_FILE_SIZE'))).toBe(COPYCOUNT_LAYOUT.fileSize);
    expect(Buffer.from('FBCCOUNT').readBigUInt64LE(0)).toBe(COPYCOUNT_LAYOUT.magic);
  });

  it('labels buckets by bit length', () => {
    expect(bucketLabel(0)).toBe('0');
    expect(bucketLabel(1)).toBe('1-2');
    expect(bucketLabel(2)).toBe('2-4');
    expect(bucketLabel(17)).toBe('64Ki-128Ki');
    expect(bucketLabel(bucketOf(MiB))).toBe('1Mi-2Mi');
    expect(bucketLabel(bucketOf(3_110_400))).toBe('2Mi-4Mi');
    expect(bucketLabel(63)).toBe('4Ei-16Ei');
    expect(() => bucketLabel(64)).toThrow(expect.objectContaining({ code: 'FB_ERR_INTERNAL' }));
  });

  it('creates a zeroed 0600 sealed page (no name in /dev/shm), env() appends to LD_PRELOAD, unlink is idempotent', () => {
    const page = newPage();
    expect(page.path).toMatch(new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
    expect(fs.readlinkSync(page.path)).toMatch(/^\/memfd:framebench-cc/);
    // sealed: nobody can shrink it under the interposer (SIGBUS) or grow it
    expect(() => fs.truncateSync(page.path, 0)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(() => fs.truncateSync(page.path, 1 << 20)).toThrow(expect.objectContaining({ code: 'EPERM' }));
    const st = fs.statSync(page.path);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.size).toBe(COPYCOUNT_LAYOUT.fileSize);
    const c = readCopyCounters(page.path);
    expect(c.calls).toBe(0);
    expect(c.bucketCalls).toHaveLength(64);
    const saved = process.env.LD_PRELOAD;
    try {
      process.env.LD_PRELOAD = '/x/other.so';
      expect(page.env()).toEqual({ LD_PRELOAD: `/x/other.so:${copyCountLibPath()}`, FRAMEBENCH_COPYCOUNT: page.path });
      // another tree's interposer (the A/B gate's base spawning a native peer) is replaced: two would count every copy twice
      process.env.LD_PRELOAD = '/elsewhere/native/copycount/build/libframebench_copycount.so /x/other.so';
      expect(page.env().LD_PRELOAD).toBe(`/x/other.so:${copyCountLibPath()}`);
      delete process.env.LD_PRELOAD;
      expect(page.env().LD_PRELOAD).toBe(copyCountLibPath());
    } finally {
      if (saved === undefined) delete process.env.LD_PRELOAD;
      else process.env.LD_PRELOAD = saved;
    }
    const target = fs.readlinkSync(page.path);
    page.unlink();
    page.unlink();
    // the descriptor is closed (its number may already name another file of this process)
    expect(fs.existsSync(page.path) ? fs.readlinkSync(page.path) : 'closed').not.toBe(target);
    expect(() => page.read()).toThrow(expect.objectContaining({ code: 'FB_ERR_INTERNAL' }));
  });

  it('rejects a page with a wrong header', () => {
    const bad = Buffer.alloc(COPYCOUNT_LAYOUT.fileSize);
    expect(() => parseCopyCounters(bad)).toThrow(expect.objectContaining({ code: 'FB_ERR_INTERNAL' }));
    expect(() => parseCopyCounters(bad.subarray(0, 100))).toThrow(expect.objectContaining({ code: 'FB_ERR_INTERNAL' }));
    expect(() => readCopyCounters('/dev/shm/framebench-cc-does-not-exist')).toThrow(expect.objectContaining({ code: 'FB_ERR_INTERNAL' }));
  });

  it.each(['copy', 'set'])('counts %s of 1 MiB exactly N times in the 1Mi-2Mi bucket', async (mode) => {
    const page = newPage();
    const r = await run(process.execPath, [COPIER, mode, String(N), String(MiB)], { ...process.env, ...page.env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = loopDelta(r.stdout);
    const b = bucketOf(MiB);
    expect(d.bucketCalls[b]).toBe(N);
    expect(d.bucketBytes[b]).toBe(N * MiB);
    expect(callsFrom(d, bucketOf(64 * 1024))).toBe(N); // nothing else >= 64 KiB during the loop
    expect(d.calls).toBeGreaterThanOrEqual(N);
    expect(d.bytes).toBeGreaterThanOrEqual(N * MiB);
    // The page as the coordinator sees it: the loop plus Node's startup copies (all small).
    const total = page.read();
    expect(total.bucketCalls[b]).toBe(N);
    expect(page.attached()).toBe(1);
  });

  it('sees no big copies for subarray', async () => {
    const page = newPage();
    const r = await run(process.execPath, [COPIER, 'subarray', String(N), String(MiB)], { ...process.env, ...page.env() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).kept).toBe(N);
    // V8 makes a few small copies of its own (compiling the loop: ~100 calls, < 8 KiB each); none is big.
    expect(callsFrom(loopDelta(r.stdout), bucketOf(64 * 1024))).toBe(0);
  });

  it('keeps the counts of a process killed with SIGKILL', async () => {
    const page = newPage();
    const r = await run(process.execPath, [COPIER, 'copy', String(N), String(MiB), 'hold'], { ...process.env, ...page.env() }, (kill) => kill());
    expect(r.signal).toBe('SIGKILL');
    const c = page.read();
    expect(c.bucketCalls[bucketOf(MiB)]).toBeGreaterThanOrEqual(N);
    expect(c.bucketBytes[bucketOf(MiB)]).toBeGreaterThanOrEqual(N * MiB);
    expect(page.attached()).toBe(1);
  });

  it('does nothing harmful without a valid page', async () => {
    const lib = copyCountLibPath();
    const base: NodeJS.ProcessEnv = { ...process.env, LD_PRELOAD: lib };
    delete base.FRAMEBENCH_COPYCOUNT;
    const unset = await run(process.execPath, [COPIER, 'copy', '10', String(MiB)], base);
    expect([unset.code, unset.stderr]).toEqual([0, '']);
    const missing = await run(process.execPath, [COPIER, 'set', '10', String(MiB)], {
      ...base,
      FRAMEBENCH_COPYCOUNT: '/dev/shm/framebench-cc-does-not-exist',
    });
    expect([missing.code, missing.stderr]).toEqual([0, '']);
    // A file with the wrong header is left alone (the child's own snapshots are then junk: not parsed).
    const junkPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fb-cc-')), 'junk');
    const junk = Buffer.alloc(COPYCOUNT_LAYOUT.fileSize, 0xab);
    fs.writeFileSync(junkPath, junk, { mode: 0o600 });
    try {
      const wrong = await run(process.execPath, [COPIER, 'copy', '10', String(MiB)], { ...base, FRAMEBENCH_COPYCOUNT: junkPath });
      expect([wrong.code, wrong.stderr]).toEqual([0, '']);
      expect(fs.readFileSync(junkPath).equals(junk)).toBe(true);
      // A valid header in a file that is not sealed (anyone could truncate it: SIGBUS) is left alone too.
      const page = newPage();
      const valid = fs.readFileSync(page.path);
      fs.writeFileSync(junkPath, valid, { mode: 0o600 });
      const unsealed = await run(process.execPath, [COPIER, 'copy', '10', String(MiB)], { ...base, FRAMEBENCH_COPYCOUNT: junkPath });
      expect([unsealed.code, unsealed.stderr]).toEqual([0, '']);
      expect(fs.readFileSync(junkPath).equals(valid)).toBe(true);
    } finally {
      fs.rmSync(path.dirname(junkPath), { recursive: true, force: true });
    }
  });

  const cc = spawnSync('cc', ['--version']).status === 0;
  it.skipIf(requireOrSkip('cc', cc ? null : 'no C compiler (cc --version fails)'))('forwards every wrapped function correctly and counts each call once (C child)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-cc-'));
    try {
      const exe = path.join(dir, 'ccalls');
      const b = spawnSync('cc', ['-O0', '-fno-builtin', '-o', exe, path.join(FIXTURES, 'ccalls.c')], { encoding: 'utf8' });
      expect(b.stderr).toBe('');
      const page = newPage();
      const r = await run(exe, [], { ...process.env, ...page.env() });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const expected = new Array<number>(64).fill(0);
      const expectedBytes = new Array<number>(64).fill(0);
      for (const line of r.stdout.trim().split('\n')) {
        const [size, calls] = line.split(' ').map(Number);
        expected[bucketOf(size)] += calls;
        expectedBytes[bucketOf(size)] += calls * size;
      }
      const c = page.read();
      expect(c.bucketCalls).toEqual(expected);
      expect(c.bucketBytes).toEqual(expectedBytes);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
