import { readFileSync } from 'node:fs';
import { nowNs } from '../core/clock';

/**
 * When a case's processes have reached their steady state. A young Node process keeps growing
 * its heaps for its first seconds (V8's young generation, malloc arenas behind Buffers), and
 * every fresh page it touches is a page fault. On a VM a fault can cost 10-30 µs (the host
 * backs the page lazily): a window opened 0.4 s after start measured a socket consumer at 2-5x
 * its steady CPU per frame, with a different share of start-up in every window. So the warm-up
 * lasts until the processes stop faulting in fresh memory, read from outside (/proc/<pid>/stat
 * minflt and /proc/<pid>/io, no help from the processes): steady when, over the last SPAN_MS,
 * the bytes faulted in are at most FAULT_SHARE of the bytes the processes moved through the
 * kernel plus a floor of FLOOR_FAULTS_PER_S (shm moves nothing through the kernel and faults
 * nothing once mapped). A process whose faults stop falling without getting under the bound
 * faults in its steady state too (a plateau: waiting changes nothing). Capped: a case that
 * does neither opens its window at the cap, and says so.
 */
export const SAMPLE_MS = 100;
export const SPAN_MS = 500;
export const FAULT_SHARE = 0.01;
export const FLOOR_FAULTS_PER_S = 200;
const PAGE = 4096;

export interface ProcCounters {
  minflt: number;
  ioBytes: number;
}

/** minflt (field 10) of a /proc/<pid>/stat text; the command name may hold spaces and parentheses. */
export function parseMinflt(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[7]); // fields from 3 (state) on: minflt is field 10
}

function read(pid: number): ProcCounters | null {
  try {
    const minflt = parseMinflt(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    let ioBytes = 0;
    try {
      for (const line of readFileSync(`/proc/${pid}/io`, 'utf8').split('\n')) {
        if (line.startsWith('rchar:') || line.startsWith('wchar:')) ioBytes += Number(line.slice(6).trim());
      }
    } catch {
      /* io unreadable: faults alone, against the floor */
    }
    return Number.isFinite(minflt) ? { minflt, ioBytes } : null;
  } catch {
    return null; // gone
  }
}

/** Sums the counters of the processes (a pid listed twice counts once). */
export function readCounters(pids: number[]): ProcCounters {
  let minflt = 0;
  let ioBytes = 0;
  for (const pid of new Set(pids)) {
    const c = read(pid);
    if (c) {
      minflt += c.minflt;
      ioBytes += c.ioBytes;
    }
  }
  return { minflt, ioBytes };
}

/** The steadiness test over one span: faulted bytes against moved bytes and the floor. */
export function isSteady(from: ProcCounters, to: ProcCounters, spanMs: number): { steady: boolean; faultPct: number } {
  const faultBytes = Math.max(0, to.minflt - from.minflt) * PAGE;
  const moved = Math.max(0, to.ioBytes - from.ioBytes);
  const allowed = FAULT_SHARE * moved + (FLOOR_FAULTS_PER_S * PAGE * spanMs) / 1000;
  const faultPct = moved > 0 ? (100 * faultBytes) / moved : faultBytes > 0 ? Infinity : 0;
  return { steady: faultBytes <= allowed, faultPct };
}

export interface SteadyOutcome {
  /** ns (monotonic) when the warm-up ended. */
  atNs: number;
  /**
   * 'steady': faults fell under the bound; 'plateau': they stopped falling (a process that keeps
   * faulting in its steady state, e.g. one that frees and re-maps its buffers every few frames:
   * waiting longer changes nothing); 'cap': neither before the cap.
   */
  ended: 'steady' | 'plateau' | 'cap';
  /** Warm-up from t0, ms. */
  warmupMs: number;
  /** Faulted bytes as % of moved bytes over the last span read. */
  faultPct: number;
}

/** A span's fault share at least this much of the span before it: no longer falling. */
export const PLATEAU_RATIO = 0.8;
/** No plateau is called before this (ms from t0): the start-up transient takes at least that. */
export const PLATEAU_AFTER_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits from t0 + minMs until the processes are steady (or on a plateau), or t0 + maxMs. `pids()`
 * is asked at every sample (a producer that a consumer hosts may appear late). `cancelled()` ends
 * the wait early.
 */
export async function waitSteady(pids: () => number[], t0Ns: number, minMs: number, maxMs: number, cancelled: () => boolean = () => false): Promise<SteadyOutcome> {
  const history: Array<{ ns: number; c: ProcCounters }> = [];
  const spanSamples = Math.round(SPAN_MS / SAMPLE_MS);
  let faultPct = NaN;
  const untilT0 = (t0Ns - nowNs()) / 1e6;
  if (untilT0 > 0) await sleep(untilT0); // spans start with the flow
  for (;;) {
    const now = nowNs();
    const c = readCounters(pids());
    history.push({ ns: now, c });
    if (history.length > 2 * spanSamples + 1) history.shift();
    const elapsedMs = (now - t0Ns) / 1e6;
    if (elapsedMs >= minMs && history.length >= spanSamples + 1) {
      const mid = history[history.length - 1 - spanSamples];
      const v = isSteady(mid.c, c, (now - mid.ns) / 1e6);
      faultPct = v.faultPct;
      if (v.steady) return { atNs: now, ended: 'steady', warmupMs: elapsedMs, faultPct };
      if (history.length === 2 * spanSamples + 1 && elapsedMs >= PLATEAU_AFTER_MS) {
        const before = isSteady(history[0].c, mid.c, (mid.ns - history[0].ns) / 1e6);
        if (v.faultPct >= PLATEAU_RATIO * before.faultPct) return { atNs: now, ended: 'plateau', warmupMs: elapsedMs, faultPct };
      }
    }
    if (elapsedMs >= maxMs || cancelled()) return { atNs: now, ended: 'cap', warmupMs: elapsedMs, faultPct };
    await sleep(SAMPLE_MS);
  }
}
