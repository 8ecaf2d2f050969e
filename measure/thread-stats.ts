import { readdirSync, readFileSync } from 'node:fs';
import { parseProcIo, type ProcSnapshot } from './proc-stats';

/**
 * CPU of one thread or of another process, for the cases process.resourceUsage() cannot
 * measure: an in-process transport (producer and consumer are threads of one process) and a
 * transport's server process (redis). `schedstat`'s first field is ns on CPU (exact); the
 * user/system split comes from `stat` utime/stime (clock ticks, coarse).
 */
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** utime and stime (µs) from a /proc/.../stat text; the command name may hold spaces. */
export function parseStatTimes(text: string): { userUs: number; systemUs: number } {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15
  return { userUs: Number(rest[11] ?? 0) * TICK_US, systemUs: Number(rest[12] ?? 0) * TICK_US };
}

export function parseSchedstatNs(text: string): number {
  return Number(text.split(' ')[0] || 0);
}

/** This thread's CPU (user + system split from ticks, total exact) and kernel bytes. */
export function threadCpu(): { userUs: number; systemUs: number; rchar: number; wchar: number } {
  const io = parseProcIo(read('/proc/thread-self/io'));
  const totalUs = parseSchedstatNs(read('/proc/thread-self/schedstat')) / 1e3;
  const { systemUs } = parseStatTimes(read('/proc/thread-self/stat'));
  const sys = Math.min(systemUs, totalUs);
  return { userUs: totalUs - sys, systemUs: sys, rchar: io.rchar, wchar: io.wchar };
}

/** Total CPU (µs) of every thread of process `pid` (sum of its tasks' schedstat); NaN when it is gone. */
export function processCpuUs(pid: number): number {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  let ns = 0;
  for (const t of tasks) ns += parseSchedstatNs(read(`/proc/${pid}/task/${t}/schedstat`));
  return ns / 1e3;
}

/** A field `name:` of a /proc/<pid>/status text, as a number (0 when missing). */
function statusField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * What `snapshot()` (proc-stats.ts) reads of this process, read from /proc for another process
 * (a native peer program the harness runs: harness/native-peer.ts): CPU of all its threads
 * (schedstat, exact; user/system split from stat), kernel bytes (io), peak RSS (status VmHWM),
 * minor faults (stat field 10) and context switches (status). null when it is gone.
 */
export function processSnapshot(pid: number): ProcSnapshot | null {
  const stat = read(`/proc/${pid}/stat`);
  const status = read(`/proc/${pid}/status`);
  const totalUs = processCpuUs(pid);
  if (!stat || !status || !Number.isFinite(totalUs)) return null;
  const io = parseProcIo(read(`/proc/${pid}/io`));
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const sys = Math.min(parseStatTimes(stat).systemUs, totalUs);
  return {
    userUs: totalUs - sys,
    systemUs: sys,
    rchar: io.rchar,
    wchar: io.wchar,
    maxRssBytes: statusField(status, 'VmHWM') * 1024,
    // rest[0] is field 3 (state): minflt is field 10
    minorFaults: Number(rest[7] ?? 0),
    volCtxSwitches: statusField(status, 'voluntary_ctxt_switches'),
    involCtxSwitches: statusField(status, 'nonvoluntary_ctxt_switches'),
  };
}
