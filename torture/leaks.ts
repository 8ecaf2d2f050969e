import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { alive, descendants, signal, waitGone } from './procs';

/**
 * What a torture case may leave behind, checked after every case: processes it started
 * (and their orphans), entries in the private TMPDIR the torture run gives its children (run
 * directories, socket files, FIFOs, perf files), descriptors of framebench shared memory
 * (memfds) this process still holds, and named framebench shared-memory segments created by
 * those processes (older versions). Whatever is found is reported and then removed, so one leak
 * is counted once and does not spill into the next case.
 */
const SHM_DIR = '/dev/shm';
const SEG_PREFIX = 'framebench-';
const FOREIGN_PREFIX = 'framebench-cc-';

function listSegments(): string[] {
  try {
    return readdirSync(SHM_DIR).filter((n) => n.startsWith(SEG_PREFIX));
  } catch {
    return [];
  }
}

/** The creator pid written in a ring segment's header (offset of RING.OFF_CONSUMER_PID), or null. */
function segmentCreator(name: string): number | null {
  try {
    const { RING } = require('../transports/shm/layout') as typeof import('../transports/shm/layout');
    const { shmNative } = require('../transports/shm/native') as typeof import('../transports/shm/native');
    const p = shmNative().peek(`/${name}`, 64);
    if (!p || p.read < 64) return null;
    const dv = new DataView(p.head.buffer, p.head.byteOffset, 64);
    if (dv.getUint32(RING.OFF_MAGIC, true) !== RING.MAGIC) return null;
    return dv.getUint32(RING.OFF_CONSUMER_PID, true);
  } catch {
    return null;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 120);
  } catch {
    return '?';
  }
}

/** This process's descriptors of framebench shared memory (memfds: the ring, copy-count pages). */
function ownMemfds(): string[] {
  const out: string[] = [];
  for (const n of safeList('/proc/self/fd')) {
    try {
      const t = readlinkSync(`/proc/self/fd/${n}`);
      if (t.startsWith('/memfd:framebench')) out.push(`fd ${n} -> ${t}`);
    } catch {
      /* closed meanwhile (the listing's own descriptor) */
    }
  }
  return out;
}

export class LeakWatch {
  private readonly segsBefore = new Set(listSegments());
  private readonly memfdsBefore = new Set(ownMemfds());
  private readonly pids = new Set<number>();

  /** `tmpRoot`: the private TMPDIR of the torture run (must be empty between cases). */
  constructor(private readonly tmpRoot: string) {}

  /** Remembers these pids and every descendant they have now (call again before a kill). */
  note(pids: number[]): void {
    for (const p of pids) {
      if (p <= 0 || p === process.pid) continue;
      this.pids.add(p);
      for (const d of descendants(p)) this.pids.add(d);
    }
  }

  /** Also remembers every current descendant of this process (servers, hosted producers). */
  noteOwnTree(): void {
    for (const d of descendants(process.pid)) this.pids.add(d);
  }

  get known(): number[] {
    return [...this.pids];
  }

  /**
   * Waits up to `graceMs` for the processes to go, then lists leaks and removes them.
   * `keep` are pids legitimately still running (a receiver child reused by the next input).
   */
  async check(graceMs = 3000, keep: number[] = []): Promise<string[]> {
    const leaks: string[] = [];
    const watched = [...this.pids].filter((p) => !keep.includes(p));
    const left = await waitGone(watched, graceMs);
    for (const pid of left) {
      leaks.push(`process ${pid} still running (${cmdline(pid)})`);
      signal(pid, 'SIGKILL');
    }
    if (keep.length === 0) {
      for (const e of safeList(this.tmpRoot)) {
        leaks.push(`left in TMPDIR: ${e}`);
        rmSync(path.join(this.tmpRoot, e), { recursive: true, force: true });
      }
    }
    for (const fd of ownMemfds()) if (!this.memfdsBefore.has(fd)) leaks.push(`descriptor still open: ${fd}`);
    for (const name of listSegments()) {
      if (this.segsBefore.has(name) || name.startsWith(FOREIGN_PREFIX)) continue;
      const creator = segmentCreator(name);
      // only segments made by this case's processes: others share /dev/shm (parallel runs)
      const ours = creator !== null && this.pids.has(creator);
      if (keep.includes(creator ?? -1)) continue;
      if (ours) {
        leaks.push(`shared-memory segment /dev/shm/${name} (creator pid ${creator}${alive(creator as number) ? '' : ', dead'})`);
        rmSync(path.join(SHM_DIR, name), { force: true });
      }
    }
    return leaks;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
