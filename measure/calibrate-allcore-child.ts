/**
 * One copier of the all-core bandwidth probe (measure/calibrate-allcore.ts).
 * argv: <setBytes> <frameBytes> <copyMs>. Allocates and touches its own buffer set (less when touching
 * takes PREFAULT_BUDGET_MS), prints
 * `ready` on stdout, waits for a line on stdin (the go signal, sent to every copier at once), then
 * copies frames cache-cold (rotating over its set, as calibrate-child.ts) for copyMs, each copy timed
 * alone, and prints one JSON line: { medianUs, copies } (the median copy time while every copier ran:
 * robust to this process being descheduled, like the single-core calibration) and the set it used.
 */
import { performance } from 'node:perf_hooks';

const PAGE = 4096;
const [setArg, frameArg, msArg] = process.argv.slice(2);
const frameBytes = Number(frameArg);
const stride = Math.ceil(frameBytes / PAGE) * PAGE;
/** Touching stops at this time once MIN_SET_BYTES are touched, as in calibrate-child.ts (a first touch is slow on these VMs). */
const PREFAULT_BUDGET_MS = 500;
const MIN_SET_BYTES = 128 * 1024 * 1024;
const wanted = Math.max(2, Math.floor(Number(setArg) / stride));
const full = new Uint8Array(wanted * stride);
const floor = Math.min(full.length, MIN_SET_BYTES);
const t0 = performance.now();
let touched = 0;
for (; touched < full.length; touched += PAGE) {
  full[touched] = (touched / PAGE) & 0xff; // first touch paid before timing
  if ((touched & 0xfffff) === 0 && touched >= floor && performance.now() - t0 > PREFAULT_BUDGET_MS) break;
}
const frames = Math.max(2, Math.floor(touched / stride));
const set = full.subarray(0, frames * stride);

const times = new Float64Array(100_000).fill(1); // touched now: no page faults while timing
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  const half = frames >> 1;
  const end = performance.now() + Number(msArg);
  let i = 0;
  while (performance.now() < end && i < times.length) {
    const from = (i % frames) * stride;
    const to = ((i + half) % frames) * stride;
    const t = performance.now();
    set.set(set.subarray(from, from + frameBytes), to); // libc memcpy, as calibrate-child.ts
    times[i++] = performance.now() - t;
  }
  const sorted = times.subarray(0, i).sort();
  process.stdout.write(JSON.stringify({ medianUs: sorted[i >> 1] * 1000, copies: i, setBytes: set.length }) + '\n');
  process.exit(0);
});
