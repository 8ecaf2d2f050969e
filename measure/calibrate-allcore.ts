import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fbError } from '../core/errors';

/**
 * The host's cache-cold copy bandwidth with every core copying at once: one copier process per
 * core, each over its own buffer set (together past the last-level cache), released by one go
 * signal after all have touched their sets, copying for the same window, each copy timed alone.
 * Copiers x frame bytes / the median copy time while all copy is what a host full of streams can copy, the limit of memory traffic; the single-core figure
 * (calibrate.ts) is what one copy costs. Both count frame bytes once (bytes read + written are 2x).
 */
export interface AllCoreBandwidth {
  /** Copiers x frame bytes / the median of their median copy times, GB/s. */
  allCoreMemcpyGBps: number;
  /** Copier processes that ran at once (os.availableParallelism()). */
  allCoreCopiers: number;
  /** Each copier's buffer set, bytes (the smallest: touching stops at a time budget, as in the single-core calibration). */
  allCoreSetBytesPerCopier: number;
}

const COPY_MS = 400;
const MiB = 1024 * 1024;

function copier(setBytes: number, frameBytes: number): { ready: Promise<void>; go(): void; done: Promise<{ medianUs: number; copies: number; setBytes: number }> } {
  const child = spawn(process.execPath, [path.join(__dirname, 'calibrate-allcore-child.js'), String(setBytes), String(frameBytes), String(COPY_MS)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) onReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ medianUs: number; copies: number; setBytes: number }>((resolve, reject) => {
    child.on('error', (e) => reject(fbError('FB_ERR_INTERNAL', `all-core calibration: ${e.message}`)));
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code === 0 && line) resolve(JSON.parse(line) as { medianUs: number; copies: number; setBytes: number });
      else reject(fbError('FB_ERR_INTERNAL', `all-core calibration copier exited with ${code}: ${err.trim().split('\n').slice(-1)[0] ?? ''}`));
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), done };
}

/**
 * Measures it for frames of `frameBytes`. Each copier's set: 128 MiB like the single-core set's floor (at most
 * 1 GiB for all together), and never less than its share of 2x the last-level cache `llcBytes`, unless
 * touching it takes longer than the single-core calibration's budget (0.5 s past 128 MiB).
 */
export async function allCoreBandwidth(frameBytes: number, llcBytes: number, copiers = os.availableParallelism()): Promise<AllCoreBandwidth> {
  const setBytes = Math.max(Math.ceil((2 * llcBytes) / copiers), Math.min(128 * MiB, Math.floor(1024 * MiB / copiers)), 2 * frameBytes);
  const procs = Array.from({ length: copiers }, () => copier(setBytes, frameBytes));
  await Promise.race([Promise.all(procs.map((p) => p.ready)), Promise.all(procs.map((p) => p.done))]);
  for (const p of procs) p.go();
  const rs = await Promise.all(procs.map((p) => p.done));
  const us = rs.map((r) => r.medianUs).sort((a, b) => a - b)[rs.length >> 1];
  const gbps = (copiers * frameBytes) / (us * 1e3);
  return { allCoreMemcpyGBps: Math.round(gbps * 100) / 100, allCoreCopiers: copiers, allCoreSetBytesPerCopier: Math.min(...rs.map((r) => r.setBytes)) };
}
