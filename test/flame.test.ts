import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StackFolder, cleanupPerfArtifacts, foldPerfDataWithInfo, frameName, perfAvailable, perfWrap } from '../profile/flame';
import { renderFlameHtml } from '../reporters/html-flame';
import { copyShare, parseFolded } from '../reporters/html-flame';
import { requireOrSkip } from './support/require';

const SAMPLE_SCRIPT = `
node  9724   731.434450:    1001001 cpu-clock: 
\t          16d807 __memmove_avx512_unaligned_erms+0x7 (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t    7f28fc024b5c JS:~copyLoop /tmp/cp.js:3:18+0xdc (/tmp/perf-9724.map)
\t    dc0e3d8d48000e26 [unknown] ([unknown])

V8 Worker  9731/9733 [001]   731.435450:    1001001 cpu-clock: 
\tffffffff821ca07c copy_user_enhanced_fast_string+0xc ([kernel.kallsyms])
\t          16d807 read+0x7 (/usr/lib/x86_64-linux-gnu/libc.so.6)

node  9724   731.436450:    1001001 cpu-clock: 
\t          16d807 __memmove_avx512_unaligned_erms+0x9 (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t    7f28fc024b5c JS:~copyLoop /tmp/cp.js:3:18+0xdc (/tmp/perf-9724.map)
\t    dc0e3d8d48000e26 [unknown] ([unknown])
`;

describe('stack folding', () => {
  it('folds perf script text root-first with the thread as root, offsets dropped, kernel frames marked', () => {
    const f = new StackFolder();
    for (const l of SAMPLE_SCRIPT.split('\n')) f.line(l);
    const r = f.result();
    expect(r.samples).toBe(3);
    expect(r.pids).toEqual([9724, 9731]);
    expect(r.folded).toBe(
      'node;[unknown];JS:~copyLoop /tmp/cp.js:3:18;__memmove_avx512_unaligned_erms 2\n' +
      'V8 Worker;read;copy_user_enhanced_fast_string_[k] 1\n',
    );
    expect(copyShare(r.folded)).toEqual({ total: 3, libc: 2, kernel: 1 });
    expect(parseFolded(r.folded).total).toBe(3);
  });

  it('names frames without symbols by their object and never lets a ; through', () => {
    expect(frameName('[unknown]', '/usr/lib/libfoo.so')).toBe('[libfoo.so]');
    expect(frameName('a;b+0x10', '/x')).toBe('a:b');
  });

  it('wraps node with the perf-map flags and other commands as they are', () => {
    const w = perfWrap(process.execPath, ['child.js', '--x'], '/tmp/out.data');
    expect(w.cmd).toBe('perf');
    expect(w.args).toEqual(['record', '-q', '-e', 'cpu-clock', '-F', '999', '-g', '-o', '/tmp/out.data', '--',
      process.execPath, '--perf-basic-prof', '--interpreted-frames-native-stack', 'child.js', '--x']);
    expect(perfWrap('/bin/true', [], 'o').args.slice(-1)).toEqual(['/bin/true']);
  });

  it('renders a self-contained flame graph that escapes names', () => {
    const html = renderFlameHtml('node;<script>;memmove 5\nnode;other 5\n', 'a <b> title');
    expect(html).toContain('<svg');
    expect(html).not.toContain('<script>;');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('a &lt;b&gt; title');
    expect(html).not.toMatch(/<script[^>]+src=|<link /);
    expect(html).toContain('50.0%</b> of samples in libc');
  });
});

const why = perfAvailable();

describe.skipIf(requireOrSkip('perf', why))('perf record of a copying node child', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fb-flame-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds libc memmove/memcpy under the JS frame that copies, and cleans up', async () => {
    const script = join(dir, 'copy.js');
    writeFileSync(script, `
const src = Buffer.alloc(8 << 20, 1), dst = Buffer.alloc(8 << 20);
function copyFrames() { const end = Date.now() + 800; let n = 0; while (Date.now() < end) { src.copy(dst); n++; } return n; }
console.log(copyFrames());
`);
    const data = join(dir, 'perf.data');
    const w = perfWrap(process.execPath, [script], data);
    const r = spawnSync(w.cmd, w.args, { encoding: 'utf8', timeout: 15_000 });
    expect(r.status, r.stderr).toBe(0);
    const f = await foldPerfDataWithInfo(data);
    expect(f.samples).toBeGreaterThan(50); // ~800 at 999 Hz when the CPU is free
    expect(f.folded).toMatch(/mem(move|cpy)/);
    expect(f.folded).toMatch(/copyFrames[^;\n]*;[^\n]*mem(move|cpy)/);
    const maps = f.pids.map((p) => `/tmp/perf-${p}.map`).filter((m) => existsSync(m));
    expect(maps.length).toBeGreaterThan(0);
    expect(renderFlameHtml(f.folded, 'copy')).toContain('__mem');
    cleanupPerfArtifacts(data, f.pids);
    expect(existsSync(data)).toBe(false);
    for (const m of maps) expect(existsSync(m)).toBe(false);
  }, 20_000);

  it('with a control FIFO, samples only between enable and disable (the measured window)', async () => {
    const profileWindowJs = join(__dirname, '..', 'dist', 'profile', 'profile-window.js');
    const script = join(dir, 'window.js');
    writeFileSync(script, `
const { profileWindow } = require(${JSON.stringify(profileWindowJs)});
const src = Buffer.alloc(8 << 20, 1), dst = Buffer.alloc(8 << 20);
function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) src.copy(dst); }
function beforeWindow() { spin(400); }
function inWindow() { spin(400); }
function afterWindow() { spin(400); }
// perf reads the FIFO when it next runs: a sleep (no samples) after each command lets it read
// the command before the next spin starts, however loaded the machine (no timing in the assertions)
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
beforeWindow(); profileWindow('enable'); sleep(1000); inWindow(); profileWindow('disable'); sleep(1000); afterWindow();
`);
    const data = join(dir, 'perf-window.data');
    const ctl = join(dir, 'ctl');
    expect(spawnSync('mkfifo', ['-m', '600', ctl]).status).toBe(0);
    const w = perfWrap(process.execPath, [script], data, ctl);
    const r = spawnSync(w.cmd, w.args, { encoding: 'utf8', timeout: 15_000, env: { ...process.env, FRAMEBENCH_PERF_CTL: ctl } });
    expect(r.status, r.stderr).toBe(0);
    const f = await foldPerfDataWithInfo(data);
    const samplesIn = (fn: string) =>
      f.folded.split('\n').filter((l) => l.includes(fn)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(samplesIn('inWindow')).toBeGreaterThan(20);
    expect(samplesIn('beforeWindow')).toBe(0); // sampling starts off
    expect(samplesIn('afterWindow')).toBeLessThan(samplesIn('inWindow') / 5); // perf reads 'disable' within a few ms
    cleanupPerfArtifacts(data, f.pids);
  }, 20_000);
});
