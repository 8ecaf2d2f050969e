import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { foldCpuProfile } from '../profile/v8-profile';
import { runCli } from './support/cli';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-flame-v8-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('--flame without perf: the V8 profiler fallback', () => {
  it('folds a .cpuprofile into root-to-leaf stacks with sample counts', () => {
    const p = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2] },
        { id: 2, callFrame: { functionName: 'main', url: 'file:///x/a.js', lineNumber: 0 }, children: [3] },
        { id: 3, callFrame: { functionName: 'copy;it', url: 'file:///x/a.js', lineNumber: 9 } },
      ],
      samples: [3, 3, 2],
    };
    const f = foldCpuProfile(p);
    expect(f.samples).toBe(3);
    expect(f.folded).toBe('main a.js:1;copy,it a.js:10 2\nmain a.js:1 1\n');
  });

  it('bench run --flame writes a flame graph per process and says which profiler ran', async () => {
    const out = path.join(tmp, 'run');
    const r = await runCli(
      ['run', '--rounds', '1', '--warmup-max', '0', '--transport', 'unix', '--scenario', 'saturate', '--format', 'i420', '--resolution', '640x360', '--duration', '0.5', '--warmup', '0.2', '--flame', '--out', out],
      { env: { FRAMEBENCH_FLAME_PROFILER: 'v8' } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("V8's sampling profiler instead of perf");
    const files = readdirSync(path.join(out, 'flame')).sort();
    expect(files).toEqual(['unix_saturate_i420_640x360.consumer.html', 'unix_saturate_i420_640x360.producer0.html']);
    const consumer = readFileSync(path.join(out, 'flame', files[0]), 'utf8');
    expect(consumer).toContain('V8 profiler, measured window');
    // the profiler runs over the 0.5 s window only, sampling every 1 ms: at most ~500 samples,
    // where the child's whole life (start-up, warm-up, drain) would give well over 1,000
    const samples = Number(/\((\d+) samples, V8 profiler/.exec(consumer)?.[1]);
    expect(samples).toBeGreaterThan(50);
    expect(samples).toBeLessThan(750);
    expect(consumer).toMatch(/onFrame/); // the consumer's JS frames are named
    expect(readFileSync(path.join(out, 'index.html'), 'utf8')).toContain('flame/unix_saturate_i420_640x360.consumer.html');
  });
});
