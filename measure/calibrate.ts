import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fbError } from '../core/errors';
import type { Calibration } from '../core/result';

/** Size of the last-level cache in bytes (32 MiB if unknown). */
export function lastLevelCacheBytes(): number {
  for (const idx of [3, 2]) {
    try {
      const s = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${idx}/size`, 'utf8').trim();
      const m = /^(\d+)([KMG]?)/.exec(s);
      if (m) return Number(m[1]) * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[m[2]];
    } catch {
      /* next */
    }
  }
  return 32 * 1024 * 1024;
}

/**
 * Measures, in a child process, the median cache-cold memcpy of each frame size.
 * The result is the unit of `copyEquivalents`: total CPU per frame / one memcpy of the frame.
 */
export async function calibrate(frameBytes: number[]): Promise<Calibration> {
  const sizes = [...new Set(frameBytes)];
  const setBytes = Math.max(4 * lastLevelCacheBytes(), 128 * 1024 * 1024);
  const child = path.join(__dirname, 'calibrate-child.js');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [child, String(setBytes), ...sizes.map(String)], { timeout: 120_000, maxBuffer: 1 << 20 }, (err, out, errOut) => {
      if (err) reject(fbError('FB_ERR_INTERNAL', `calibration failed: ${String(errOut || err.message).trim()}`));
      else resolve(out);
    });
  });
  const parsed = JSON.parse(stdout) as Record<string, { medianUs: number; samples: number }>;
  const byBytes: Record<string, number> = {};
  let samples = 0;
  for (const [k, v] of Object.entries(parsed)) {
    byBytes[k] = Math.round(v.medianUs * 100) / 100;
    samples += v.samples;
  }
  const first = sizes[0];
  const firstUs = byBytes[String(first)];
  return {
    memcpyUsPerFrame: firstUs,
    memcpyUsByFrameBytes: byBytes,
    memcpyGBps: Math.round((first / (firstUs * 1e3)) * 100) / 100,
    samples,
    bufferSetBytes: setBytes,
    method: 'Uint8Array.set (libc memcpy) over a rotating buffer set of 4x the last-level cache; tinybench median',
  };
}
