import { readdirSync, readFileSync } from 'node:fs';

/**
 * What the torture checks read about other processes, straight from /proc: liveness, the
 * process tree (so orphans of a killed parent are still known), resident memory and open
 * file descriptors. Every reader returns null for a process that is gone.
 */

/** State letter and parent pid of `pid`, or null when it does not exist. */
function stat(pid: number): { state: string; ppid: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return null;
  }
}

/** True while `pid` runs (a zombie counts as gone: it holds no resources but its pid). */
export function alive(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X';
}

/** Every live descendant of `root` (children, grandchildren, ...), found by walking /proc. */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = stat(Number(e));
    if (s && s.state !== 'Z') parent.set(Number(e), s.ppid);
  }
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop() as number;
    for (const [pid, pp] of parent) {
      if (pp === p) {
        out.push(pid);
        frontier.push(pid);
      }
    }
  }
  return out;
}

/** Resident set size of `pid` in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Number of open file descriptors of `pid`, or null. */
export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Polls until every pid is gone or `ms` passed; returns the ones still alive. */
export async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends `sig` to `pid`, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Periodic RSS/fd samples of a set of processes (labels -> pid). */
export interface Sample {
  atMs: number;
  rss: Record<string, number | null>;
  fds: Record<string, number | null>;
}

export class Sampler {
  readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = Date.now();

  constructor(private readonly pids: Record<string, number>, everyMs: number) {
    this.take();
    this.timer = setInterval(() => this.take(), everyMs);
  }

  take(): void {
    const rss: Sample['rss'] = {};
    const fds: Sample['fds'] = {};
    for (const [k, pid] of Object.entries(this.pids)) {
      rss[k] = rssBytes(pid);
      fds[k] = fdCount(pid);
    }
    this.samples.push({ atMs: Date.now() - this.t0, rss, fds });
  }

  stop(): Sample[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.samples;
  }
}
