/**
 * Calibration child: the copy time of one frame of each given size, cache-cold.
 * argv: <bufferSetBytes> <size> [<size> ...]; prints one JSON line (CalibrationChildOutput) on stdout.
 *
 * The set is allocated in chunks and every page of it is written (with its own content, so no
 * page deduplication can merge them) before anything is timed: first-touch page faults are paid
 * up front (prefaultMs) and counted if any happen while timing (faultsWhileTiming). Touching
 * stops early, once at least MIN_SET_BYTES are touched, when it has taken PREFAULT_BUDGET_MS: on
 * these VMs a first touch costs ~11 µs per 4 KiB page (~3 ms per MiB), so a 1 GiB set would cost
 * 3 s per round (docs/copy-accounting.md, "Calibration").
 *
 * Frames (page-aligned) tile the set; copy i goes from frame i to frame i + n/2, rotating, so a
 * buffer is read again only after the whole set has been touched in between: with the set past
 * the last-level cache every copy reads and writes memory that is not in cache. Each copy is
 * timed alone (performance.now) and the median is reported, after one untimed pass over the set.
 *
 * For the first size two more probes say how cold "cold" was: the same rotation over half the set
 * (equal to the full set's time when the set is past the cache) and over two frames only (hot:
 * cache-resident when the cache holds two frames).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface CalibrationChildOutput {
  bySize: Record<string, { medianUs: number; samples: number }>;
  /** Bytes actually allocated and touched. */
  setBytes: number;
  /** True when touching stopped at the time budget, short of the requested set. */
  limitedByTime: boolean;
  prefaultMs: number;
  faultsWhileTiming: number;
  hugePageBytes: number;
  hotUs: number;
  hotSetBytes: number;
  halfSetUs: number;
  /** This process's whole CPU time (user + system), µs: the part of the host's CPU that was ours. */
  cpuUs: number;
}

const PAGE = 4096;
const CHUNK_BYTES = 16 * 1024 * 1024;
/** Touching the set stops at this time, once MIN_SET_BYTES are touched. */
const PREFAULT_BUDGET_MS = 500;
const MIN_SET_BYTES = 128 * 1024 * 1024;
/** Timed copies per probe: the full set's for the first size, the others', half set, hot. */
const COLD_MS = 250;
const OTHER_SIZE_MS = 150;
const HALF_MS = 120;
const HOT_MS = 80;
const MAX_SAMPLES = 50_000;
const samples = new Float64Array(MAX_SAMPLES).fill(1); // allocated and touched once: no page faults while timing

const roundUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Allocates and touches the set: every page written, each with a distinct stamp. */
function touchSet(target: number, largest: number): { chunks: Uint8Array[]; bytes: number; limitedByTime: boolean; ms: number } {
  const chunkBytes = Math.max(CHUNK_BYTES, roundUp(largest, PAGE));
  const floor = Math.min(target, MIN_SET_BYTES);
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let stamp = 1;
  let limitedByTime = false;
  const t0 = performance.now();
  while (bytes < target || chunks.length < 2) {
    const c = new Uint8Array(chunkBytes).fill((chunks.length * 37 + 1) & 0xff);
    const words = new Uint32Array(c.buffer, c.byteOffset, c.byteLength >>> 2);
    for (let w = 0; w < words.length; w += PAGE / 4) words[w] = stamp++;
    chunks.push(c);
    bytes += chunkBytes;
    if (bytes < target && bytes >= floor && chunks.length >= 2 && performance.now() - t0 > PREFAULT_BUDGET_MS) {
      limitedByTime = true;
      break;
    }
  }
  return { chunks, bytes, limitedByTime, ms: performance.now() - t0 };
}

/** Page-aligned frames of `size` bytes tiling the chunks. */
function framesOf(chunks: Uint8Array[], size: number): Uint8Array[] {
  const stride = roundUp(size, PAGE);
  const out: Uint8Array[] = [];
  for (const c of chunks) for (let off = 0; off + size <= c.byteLength; off += stride) out.push(c.subarray(off, off + size));
  return out;
}

let faultsWhileTiming = 0;

/** Median time (µs) of one copy, frame i to frame i + n/2, rotating over `frames`. */
function timeCopies(frames: Uint8Array[], ms: number): { medianUs: number; samples: number } {
  const n = frames.length;
  const half = n >>> 1;
  for (let i = 0; i < n; i++) frames[(i + half) % n].set(frames[i]); // one untimed pass: warm the code, settle the set
  let k = 0;
  const f0 = faults();
  const end = performance.now() + ms;
  for (let i = 0; k < MAX_SAMPLES; i++) {
    const a = performance.now();
    if (a > end) break;
    frames[(i + half) % n].set(frames[i % n]);
    samples[k++] = performance.now() - a;
  }
  faultsWhileTiming += faults() - f0;
  const sorted = samples.subarray(0, k).sort();
  return { medianUs: k ? sorted[k >>> 1] * 1000 : NaN, samples: k };
}

function faults(): number {
  const r = process.resourceUsage();
  return r.minorPageFault + r.majorPageFault;
}

function anonHugePageBytes(): number {
  try {
    const m = /AnonHugePages:\s+(\d+)\s*kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function main(): void {
  const target = Number(process.argv[2]);
  const sizes = process.argv.slice(3).map(Number);
  if (!(target > 0) || sizes.length === 0 || sizes.some((s) => !(s > 0))) throw new Error('usage: calibrate-child <bufferSetBytes> <size> [<size> ...]');
  const set = touchSet(target, Math.max(...sizes));
  const bySize: CalibrationChildOutput['bySize'] = {};
  let hot = { medianUs: NaN, samples: 0 };
  let half = { medianUs: NaN, samples: 0 };
  sizes.forEach((size, i) => {
    const frames = framesOf(set.chunks, size);
    bySize[String(size)] = timeCopies(frames, i === 0 ? COLD_MS : OTHER_SIZE_MS);
    if (i === 0) {
      half = timeCopies(frames.slice(0, Math.max(2, frames.length >>> 1)), HALF_MS);
      hot = timeCopies(frames.slice(0, 2), HOT_MS);
    }
  });
  const ru = process.resourceUsage();
  const out: CalibrationChildOutput = {
    bySize,
    setBytes: set.bytes,
    limitedByTime: set.limitedByTime,
    prefaultMs: Math.round(set.ms),
    faultsWhileTiming,
    hugePageBytes: anonHugePageBytes(),
    hotUs: hot.medianUs,
    hotSetBytes: 2 * roundUp(sizes[0], PAGE),
    halfSetUs: half.medianUs,
    cpuUs: ru.userCPUTime + ru.systemCPUTime,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

try {
  main();
} catch (e) {
  process.stderr.write(String(e instanceof Error ? e.message : e) + '\n');
  process.exit(1);
}
