import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from './support/require';

/**
 * The C consumer (native/c/fbring.c) under hostile producers, fuzzed (native/c/fuzz_ring.c), built
 * with AddressSanitizer and UndefinedBehaviorSanitizer (-fno-sanitize-recover: the first report
 * aborts the run). Each seed runs a bounded number of iterations; the harness's own invariants
 * (every record inside the region, the honest producer's records all delivered once, in order,
 * intact, and never overwritten while held) make it exit 2, a sanitizer report makes it abort:
 * either fails the test.
 */
const NATIVE = path.join(__dirname, '..', 'native');
const SOURCES = ['c/fuzz_ring.c', 'c/fbring.c', 'c/fbring_serve.c', 'c/fbring_producer.c', 'src/checksum.c'].map((f) => path.join(NATIVE, f));
const CC = process.env.CC || 'cc';
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const ITERATIONS = 20_000;
/** Without npm run test:asan's LD_PRELOAD of libasan (meant for node): the compiler and the harness bring their own. */
const { LD_PRELOAD: _preload, ...ENV } = process.env;

function unavailable(): string | null {
  const v = spawnSync(CC, ['--version'], { encoding: 'utf8', env: ENV });
  if (v.status !== 0) return `no C compiler (${CC})`;
  for (const lib of ['libasan.so', 'libubsan.so']) {
    const f = spawnSync(CC, [`-print-file-name=${lib}`], { encoding: 'utf8', env: ENV }).stdout.trim();
    if (!f || f === lib || !fs.existsSync(f)) return `${CC} has no ${lib} (install gcc's sanitizer runtimes, e.g. apt-get install libasan8 libubsan1)`;
  }
  return null;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'framebench-ringc-fuzz-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(requireOrSkip('cc', unavailable()))('C consumer fuzzed by hostile producers (ASan + UBSan)', () => {
  const bin = path.join(work, 'fuzz_ring');

  it('builds instrumented', () => {
    execFileSync(CC, ['-std=gnu11', '-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', '-Wall', '-Wextra', '-Werror', ...SOURCES, '-lpthread', '-o', bin], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: ENV,
    });
    const syms = execFileSync('nm', [bin], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(syms).toMatch(/__asan_init/);
    expect(syms).toMatch(/__ubsan_handle_/);
  });

  it.each(SEEDS)('seed %i: no sanitizer report, every invariant holds', (seed) => {
    expect(fs.existsSync(bin)).toBe(true);
    const dir = fs.mkdtempSync(path.join(work, 'run-'));
    const r = spawnSync(bin, [String(seed), String(ITERATIONS), dir], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...ENV, ASAN_OPTIONS: 'abort_on_error=1:detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
    });
    expect(r.stderr).not.toMatch(/AddressSanitizer|LeakSanitizer|runtime error|invariant broken/);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    const out = JSON.parse(r.stdout.trim()) as Record<string, number>;
    expect(out.iterations).toBe(ITERATIONS);
    expect(out.honestSent).toBeGreaterThan(1000);
    expect(out.honestReceived).toBe(out.honestSent);
    // the hostile producers got somewhere: records of theirs delivered, cut offs, deaths, rejoins
    expect(out.records).toBeGreaterThan(out.honestSent);
    expect(out.cutOff).toBeGreaterThan(100);
    expect(out.peerGone).toBeGreaterThan(10);
    expect(out.hostileOpens).toBeGreaterThan(out.cutOff);
    expect(fs.readdirSync(dir)).toEqual([]); // the socket is removed on close
  });
});
