import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { llcFromSysfs, parseCacheSize, parseCpuId, parseThp, SET_CAP_BYTES, SET_MIN_BYTES, targetSetBytes } from '../measure/calibrate';

/**
 * The pure parts of the memcpy calibration (measure/calibrate.ts): reading the cache size,
 * sizing the buffer set, and what it records about the host. No timing here.
 */
const MiB = 1024 * 1024;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-calibrate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sysfsCache(entries: Array<{ level: number; type: string; size: string }>): string {
  const dir = mkdtempSync(path.join(tmp, 'cache-'));
  entries.forEach((e, i) => {
    const d = path.join(dir, `index${i}`);
    mkdirSync(d);
    writeFileSync(path.join(d, 'level'), `${e.level}\n`);
    writeFileSync(path.join(d, 'type'), `${e.type}\n`);
    writeFileSync(path.join(d, 'size'), `${e.size}\n`);
  });
  return dir;
}

describe('calibration: cache size', () => {
  it('parses sysfs and getconf-style sizes', () => {
    expect(parseCacheSize('32768K')).toBe(32 * MiB);
    expect(parseCacheSize('1M')).toBe(MiB);
    expect(parseCacheSize('48K')).toBe(48 * 1024);
    expect(parseCacheSize('532676608')).toBe(532_676_608);
    expect(parseCacheSize('')).toBeNull();
    expect(parseCacheSize('0')).toBeNull();
    expect(parseCacheSize('big')).toBeNull();
  });

  it('takes the highest-level data or unified cache from sysfs, never the instruction cache', () => {
    const dir = sysfsCache([
      { level: 1, type: 'Data', size: '48K' },
      { level: 1, type: 'Instruction', size: '32K' },
      { level: 2, type: 'Unified', size: '1024K' },
      { level: 3, type: 'Unified', size: '32768K' },
    ]);
    expect(llcFromSysfs(dir)).toBe(32 * MiB);
    expect(llcFromSysfs(sysfsCache([{ level: 2, type: 'Unified', size: '2048K' }]))).toBe(2 * MiB);
  });

  it('no sysfs cache directory (these VMs): null, so getconf is asked next', () => {
    expect(llcFromSysfs(path.join(tmp, 'absent'))).toBeNull();
  });

  it('the set is 2x the cache, at least 128 MiB, at most 1 GiB', () => {
    expect(targetSetBytes(32 * MiB)).toBe(SET_MIN_BYTES);
    expect(targetSetBytes(96 * MiB)).toBe(192 * MiB);
    expect(targetSetBytes(532_676_608)).toBe(1016 * MiB); // getconf here: 508 MiB (then touching it hits the time budget)
    expect(targetSetBytes(4096 * MiB)).toBe(SET_CAP_BYTES);
    expect(SET_MIN_BYTES).toBe(128 * MiB);
    expect(SET_CAP_BYTES).toBe(1024 * MiB);
  });
});

describe('calibration: host description', () => {
  it('reads the selected THP mode', () => {
    expect(parseThp('always [madvise] never\n')).toBe('madvise');
    expect(parseThp('[always] madvise never')).toBe('always');
    expect(parseThp('')).toBeNull();
  });

  it('reads vendor, family, model and stepping from /proc/cpuinfo', () => {
    const cpuinfo = 'processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nstepping\t: 1\ncpu MHz\t\t: 2095.987\n';
    expect(parseCpuId(cpuinfo)).toBe('AuthenticAMD family 26 model 2 stepping 1');
    expect(parseCpuId('processor : 0\n')).toBeNull();
  });
});

describe('wake-up probe (measure/calibrate-wakeup.ts)', () => {
  it('wakes an echo child once per trip and reports CPU and latency per wake-up', async () => {
    // the compiled module: it starts its echo child from dist/ (npm test builds it)
    const { wakeupProbe } = (await import(path.join(__dirname, '..', 'dist', 'measure', 'calibrate-wakeup.js'))) as typeof import('../measure/calibrate-wakeup');
    const w = await wakeupProbe(8, 2);
    expect(w.trips).toBe(8);
    expect(w.cpuUs).toBeGreaterThan(0);
    expect(w.latencyUs).toBeGreaterThan(0);
  }, 30_000);
});
