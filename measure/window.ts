import { nowNs } from '../core/clock';
import type { WindowFigures } from '../core/case';
import { readFileSync } from 'node:fs';
import { delta, parseProcIo, snapshot, type ProcSnapshot } from './proc-stats';
import { processCpuUs, processSnapshot } from './thread-stats';
import { profileWindow } from '../profile/profile-window';
import { diffTicks, readHostTicks } from './host-noise';
import { gcBetween, gcClockMs, startGcLog } from './gc-log';
import type { HostCpuTicks } from '../core/case';

export interface WindowOptions {
  /** Where CPU time and kernel bytes come from (default: this process); live mode measures
   *  the browser's process tree, in-process transports this thread. */
  cpu?: () => { userUs: number; systemUs: number; rchar: number; wchar: number };
  /** Read no copy counters (they are per process: meaningless per thread). */
  noCopies?: boolean;
  /** Also measure the CPU of this process (a transport's server). */
  serverPid?: number;
  /** The copy-count page of that server (its own, see ReceiverOptions.serverEnv): its copies are its own side. */
  serverCopyPage?: string;
  /**
   * Measure this other process instead of this one (a native peer program this process runs:
   * harness/native-peer.ts): its CPU, kernel bytes, faults and context switches from /proc, and
   * its copy counters from `copyPage` (its own page) when copy accounting is on.
   */
  pid?: number;
  /** The copy-count page to read instead of this process's own (with `pid`). */
  copyPage?: string;
  /** Also read the whole host's CPU ticks (/proc/stat) at the edges: the case's reference window (the consumer's). */
  hostCpu?: boolean;
}

type Copies = NonNullable<WindowFigures['copies']>;

/** Reads this process's copy counters when the copy-accounting interposer is loaded. */
function copyReader(page = process.env.FRAMEBENCH_COPYCOUNT): (() => Copies) | null {
  if (!page) return null;
  const cc = require('./copycount') as { readCopyCounters(p: string): Copies };
  return () => cc.readCopyCounters(page);
}

/** rchar + wchar of a server process (0 when it is gone or unreadable). */
function serverIo(pid: number): number {
  try {
    const io = parseProcIo(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return io.rchar + io.wchar;
  } catch {
    return 0;
  }
}

function diffCopies(a: Copies, b: Copies): Copies {
  return {
    calls: a.calls - b.calls,
    bytes: a.bytes - b.bytes,
    bucketCalls: a.bucketCalls.map((v, i) => v - (b.bucketCalls[i] ?? 0)),
    bucketBytes: a.bucketBytes.map((v, i) => v - (b.bucketBytes[i] ?? 0)),
  };
}

/**
 * The measurement window of one process: snapshots of CPU, kernel bytes and copy
 * counters (and, in the consumer's window, the host's /proc/stat CPU ticks, for the
 * window's noise) at its start and end (taken by timers at the agreed monotonic times), and
 * the frames this process completed in between. Warm-up falls before the start.
 */
export class MeasureWindow {
  private state: 'before' | 'open' | 'closed' = 'before';
  private frames = 0;
  private startNs = 0;
  private endNs = 0;
  private startSnap: ProcSnapshot | null = null;
  private endSnap: ProcSnapshot | null = null;
  private startCopies: Copies | null = null;
  private endCopies: Copies | null = null;
  private readonly readCopies: (() => Copies) | null;
  private readonly readServerCopies: (() => Copies) | null;
  private serverCopiesStart: Copies | null = null;
  private serverCopiesEnd: Copies | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly cpu?: WindowOptions['cpu'];
  private readonly pid?: number;
  private readonly serverPid?: number;
  private serverStart = NaN;
  private serverEnd = NaN;
  private serverIoStart = 0;
  private serverIoEnd = 0;
  private readonly hostCpu: boolean;
  private hostStart: HostCpuTicks | null = null;
  private hostEnd: HostCpuTicks | null = null;
  private gcFromMs = NaN;
  private gcToMs = NaN;

  /** @param opts a function alone is `opts.cpu` (live mode) */
  constructor(openAtNs: number, closeAtNs: number, opts?: WindowOptions | WindowOptions['cpu']) {
    const o: WindowOptions = typeof opts === 'function' ? { cpu: opts } : (opts ?? {});
    this.cpu = o.cpu;
    this.serverPid = o.serverPid;
    this.hostCpu = o.hostCpu === true;
    this.pid = o.pid;
    this.readCopies = o.noCopies ? null : o.pid !== undefined ? (o.copyPage ? copyReader(o.copyPage) : null) : copyReader();
    this.readServerCopies = o.serverCopyPage ? copyReader(o.serverCopyPage) : null;
    startGcLog();
    const now = nowNs();
    this.timers.push(setTimeout(() => this.open(), Math.max(0, (openAtNs - now) / 1e6)));
    this.timers.push(setTimeout(() => this.close(), Math.max(0, (closeAtNs - now) / 1e6)));
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Counts one completed frame if the window is open. */
  frame(): void {
    if (this.state === 'open') this.frames++;
  }

  open(): void {
    if (this.state !== 'before') return;
    // --flame: the profiler starts before the first reading and stops after the last, so
    // starting, stopping and writing the profile are never counted in the window's figures
    profileWindow('enable');
    // the host's reading goes outermost (first here, last at the close), around this process's own
    if (this.hostCpu) this.hostStart = readHostTicks();
    this.startCopies = this.readCopies ? this.readCopies() : null;
    this.serverCopiesStart = this.readServerCopies ? this.readServerCopies() : null;
    if (this.serverPid) {
      this.serverStart = processCpuUs(this.serverPid);
      this.serverIoStart = serverIo(this.serverPid);
    }
    this.startSnap = this.snap();
    this.gcFromMs = gcClockMs();
    this.startNs = nowNs();
    this.state = 'open';
  }

  close(): void {
    if (this.state === 'before') this.open();
    if (this.state === 'closed') return;
    this.endNs = nowNs();
    this.gcToMs = gcClockMs();
    this.endSnap = this.snap();
    if (this.serverPid) {
      this.serverEnd = processCpuUs(this.serverPid);
      this.serverIoEnd = serverIo(this.serverPid);
    }
    this.endCopies = this.readCopies ? this.readCopies() : null;
    this.serverCopiesEnd = this.readServerCopies ? this.readServerCopies() : null;
    if (this.hostCpu) this.hostEnd = readHostTicks();
    this.state = 'closed';
    profileWindow('disable');
  }

  private snap(): ProcSnapshot {
    if (this.pid !== undefined) return processSnapshot(this.pid) ?? { ...snapshot(), userUs: NaN, systemUs: NaN };
    const s = snapshot();
    if (this.cpu) {
      const c = this.cpu();
      s.userUs = c.userUs;
      s.systemUs = c.systemUs;
      s.rchar = c.rchar;
      s.wchar = c.wchar;
    }
    return s;
  }

  figures(): WindowFigures {
    this.close();
    for (const t of this.timers) clearTimeout(t);
    const startSnap = this.startSnap as ProcSnapshot;
    const endSnap = this.endSnap as ProcSnapshot;
    return {
      seconds: (this.endNs - this.startNs) / 1e9,
      frames: this.frames,
      proc: delta(endSnap, startSnap),
      copies: this.startCopies && this.endCopies ? diffCopies(this.endCopies, this.startCopies) : null,
      ...(this.serverCopiesStart && this.serverCopiesEnd ? { serverCopies: diffCopies(this.serverCopiesEnd, this.serverCopiesStart) } : {}),
      ...(this.serverPid ? { serverCpuUs: Number.isFinite(this.serverEnd - this.serverStart) ? this.serverEnd - this.serverStart : 0 } : {}),
      ...(this.serverIoStart && this.serverIoEnd ? { serverKernelBytes: this.serverIoEnd - this.serverIoStart } : {}),
      ...(this.hostStart && this.hostEnd ? { hostCpuTicks: diffTicks(this.hostEnd, this.hostStart) } : {}),
      // pauses are reported after they end: by now (the window's report is due) they are in the log
      ...(this.cpu || this.pid !== undefined ? {} : { gc: gcBetween(this.gcFromMs, this.gcToMs) }),
    };
  }
}
