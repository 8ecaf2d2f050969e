import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fbError } from '../core/errors';
import type { Calibration } from '../core/result';
import type { CalibrationChildOutput } from './calibrate-child';
import { diffTicks, hostNoise, readHostTicks } from './host-noise';
import { wakeupProbe } from './calibrate-wakeup';
import { allCoreBandwidth } from './calibrate-allcore';

const MiB = 1024 * 1024;
/** The buffer set: 2x the last-level cache, at least SET_MIN_BYTES, at most SET_CAP_BYTES (and what touching it costs in time: calibrate-child.ts). */
export const SET_MIN_BYTES = 128 * MiB;
export const SET_CAP_BYTES = 1024 * MiB;
const DEFAULT_LLC_BYTES = 32 * MiB;

export interface LlcInfo {
  bytes: number;
  /** 'sysfs': the kernel's cache description; 'getconf': glibc's, from CPUID as the hypervisor reports it; 'default': 32 MiB. */
  source: 'sysfs' | 'getconf' | 'default';
}

/** '32768K', '1M', '512 KiB' -> bytes (null when unreadable). */
export function parseCacheSize(s: string): number | null {
  const m = /^\s*(\d+)\s*([KMG]?)(?:i?B)?\s*$/i.exec(s);
  if (!m) return null;
  const unit = ({ '': 1, K: 1024, M: MiB, G: 1024 * MiB } as Record<string, number>)[m[2].toUpperCase()];
  const n = Number(m[1]) * unit;
  return n > 0 ? n : null;
}

/** The largest-level data or unified cache of cpu0 in sysfs (null when the directory is absent, as in these VMs). */
export function llcFromSysfs(dir = '/sys/devices/system/cpu/cpu0/cache'): number | null {
  let best: { level: number; bytes: number } | null = null;
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((e) => /^index\d+$/.test(e));
  } catch {
    return null;
  }
  for (const e of entries) {
    try {
      const read = (f: string): string => readFileSync(path.join(dir, e, f), 'utf8').trim();
      if (read('type') === 'Instruction') continue;
      const level = Number(read('level'));
      const bytes = parseCacheSize(read('size'));
      if (bytes && Number.isFinite(level) && (!best || level > best.level)) best = { level, bytes };
    } catch {
      /* an incomplete entry */
    }
  }
  return best?.bytes ?? null;
}

/** glibc's view (getconf LEVEL3_CACHE_SIZE, else LEVEL2): CPUID, i.e. whatever the hypervisor chose to report. */
export function llcFromGetconf(): number | null {
  for (const name of ['LEVEL3_CACHE_SIZE', 'LEVEL2_CACHE_SIZE']) {
    try {
      const n = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (Number.isFinite(n) && n > 0) return n;
    } catch {
      /* no getconf, or no such variable */
    }
  }
  return null;
}

/** The last-level cache: sysfs, else getconf, else 32 MiB; says which. */
export function detectLlc(): LlcInfo {
  const sys = llcFromSysfs();
  if (sys) return { bytes: sys, source: 'sysfs' };
  const gc = llcFromGetconf();
  if (gc) return { bytes: gc, source: 'getconf' };
  return { bytes: DEFAULT_LLC_BYTES, source: 'default' };
}

/** Size of the last-level cache in bytes (detectLlc). */
export function lastLevelCacheBytes(): number {
  return detectLlc().bytes;
}

/** The buffer set asked of the child: 2x the LLC (a buffer is reused only after the whole set), clamped. */
export function targetSetBytes(llcBytes: number): number {
  return Math.min(SET_CAP_BYTES, Math.max(SET_MIN_BYTES, 2 * llcBytes));
}

/** The selected mode of /sys/kernel/mm/transparent_hugepage/enabled ('always [madvise] never' -> 'madvise'). */
export function parseThp(text: string): string | null {
  return /\[(\w+)\]/.exec(text)?.[1] ?? null;
}

/** 'AuthenticAMD family 26 model 2 stepping 1' from /proc/cpuinfo text (null when it says nothing). */
export function parseCpuId(text: string): string | null {
  const field = (k: string): string | undefined => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  const vendor = field('vendor_id');
  const family = field('cpu family');
  if (!vendor || !family) return null;
  return `${vendor} family ${family} model ${field('model') ?? '?'} stepping ${field('stepping') ?? '?'}`;
}

function readOr<T>(file: string, parse: (s: string) => T | null): T | undefined {
  try {
    return parse(readFileSync(file, 'utf8')) ?? undefined;
  } catch {
    return undefined;
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Measures, in a child process, the median cache-cold memcpy of each frame size.
 * The result is the unit of `copyEquivalents`: total CPU per frame / one memcpy of the frame.
 * It also records what explains a difference between machines (docs/copy-accounting.md,
 * "Calibration"): where the cache size came from, the set actually used and what limited it,
 * huge pages, first-touch cost, the hot and half-set copy times, the CPU, and the host's noise.
 */
export async function calibrate(frameBytes: number[]): Promise<Calibration> {
  const sizes = [...new Set(frameBytes)];
  const llc = detectLlc();
  const target = targetSetBytes(llc.bytes);
  const child = path.join(__dirname, 'calibrate-child.js');
  const host0 = readHostTicks();
  const own0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [child, String(target), ...sizes.map(String)], { timeout: 120_000, maxBuffer: 1 << 20 }, (err, out, errOut) => {
      if (err) reject(fbError('FB_ERR_INTERNAL', `calibration failed: ${String(errOut || err.message).trim()}`));
      else resolve(out);
    });
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const host1 = readHostTicks();
  const own = process.cpuUsage(own0);
  const r = JSON.parse(stdout) as CalibrationChildOutput;
  const byBytes: Record<string, number> = {};
  let samples = 0;
  for (const [k, v] of Object.entries(r.bySize)) {
    byBytes[k] = round2(v.medianUs);
    samples += v.samples;
  }
  const first = sizes[0];
  const firstUs = byBytes[String(first)];
  const limitedBy: Calibration['setLimitedBy'] = r.limitedByTime ? 'time' : 2 * llc.bytes > SET_CAP_BYTES ? 'cap' : 'cache';
  const thp = readOr('/sys/kernel/mm/transparent_hugepage/enabled', parseThp);
  const cpu = readOr('/proc/cpuinfo', parseCpuId);
  return {
    memcpyUsPerFrame: firstUs,
    memcpyUsByFrameBytes: byBytes,
    memcpyGBps: round2(first / (firstUs * 1e3)),
    samples,
    bufferSetBytes: r.setBytes,
    method:
      'Uint8Array.set (libc memcpy) rotating over a buffer set of 2x the last-level cache (at least 128 MiB, at most 1 GiB, ' +
      'less if touching it took 0.5 s), every page touched before timing; median of individually timed copies',
    llcBytes: llc.bytes,
    llcSource: llc.source,
    setLimitedBy: limitedBy,
    ...(thp ? { thp } : {}),
    hugePageBytes: r.hugePageBytes,
    prefaultMs: r.prefaultMs,
    faultsWhileTiming: r.faultsWhileTiming,
    hotMemcpyUsPerFrame: round2(r.hotUs),
    halfSetMemcpyUsPerFrame: round2(r.halfSetUs),
    ...(cpu ? { cpu } : {}),
    ...(host0 && host1 ? { noise: hostNoise(diffTicks(host1, host0), seconds, r.cpuUs + own.user + own.system) } : {}),
    ...(await wakeupFields()),
  };
}

/** The wake-up probe (calibrate-wakeup.ts) as Calibration fields; empty when it fails (the run goes on). */
async function wakeupFields(): Promise<Pick<Calibration, 'wakeupCpuUs' | 'wakeupLatencyUs'>> {
  try {
    const w = await wakeupProbe();
    return { wakeupCpuUs: w.cpuUs, wakeupLatencyUs: w.latencyUs };
  } catch {
    return {};
  }
}

/**
 * The all-core copy bandwidth (calibrate-allcore.ts) for the largest of the run's frame sizes, as
 * Calibration fields; empty when it cannot be measured (the run goes on, the memory limit then
 * falls back to one core's figure and the report says so).
 */
export async function calibrateAllCores(frameBytes: number[]): Promise<Pick<Calibration, 'allCoreMemcpyGBps' | 'allCoreCopiers'>> {
  try {
    const r = await allCoreBandwidth(Math.max(...frameBytes), detectLlc().bytes);
    return { allCoreMemcpyGBps: r.allCoreMemcpyGBps, allCoreCopiers: r.allCoreCopiers };
  } catch {
    return {};
  }
}
