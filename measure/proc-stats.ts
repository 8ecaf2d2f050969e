import type { ProcDelta } from '../core/case';
import { readFileSync } from 'node:fs';

/**
 * What a process measures about itself at the edges of the measurement window.
 * CPU from process.resourceUsage() (µs), kernel-copied bytes from /proc/self/io
 * (rchar/wchar: bytes passed through read/write-family syscalls), peak RSS.
 */
export interface ProcSnapshot {
  userUs: number;
  systemUs: number;
  rchar: number;
  wchar: number;
  maxRssBytes: number;
  minorFaults: number;
  volCtxSwitches: number;
  involCtxSwitches: number;
}

export type { ProcDelta };

/** Parses the rchar/wchar lines of a /proc/<pid>/io text. Missing fields are 0. */
export function parseProcIo(text: string): { rchar: number; wchar: number } {
  let rchar = 0;
  let wchar = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('rchar:')) rchar = Number(line.slice(6).trim());
    else if (line.startsWith('wchar:')) wchar = Number(line.slice(6).trim());
  }
  return { rchar, wchar };
}

function readSelfIo(): { rchar: number; wchar: number } {
  try {
    return parseProcIo(readFileSync('/proc/self/io', 'utf8'));
  } catch {
    return { rchar: 0, wchar: 0 };
  }
}

export function snapshot(): ProcSnapshot {
  // read /proc first so the read's own bytes land before the CPU sample
  const io = readSelfIo();
  const ru = process.resourceUsage();
  return { userUs: ru.userCPUTime, systemUs: ru.systemCPUTime, rchar: io.rchar, wchar: io.wchar, maxRssBytes: ru.maxRSS * 1024,
    minorFaults: ru.minorPageFault, volCtxSwitches: ru.voluntaryContextSwitches, involCtxSwitches: ru.involuntaryContextSwitches,
  };
}

export function delta(after: ProcSnapshot, before: ProcSnapshot): ProcDelta {
  return {
    userUs: after.userUs - before.userUs,
    systemUs: after.systemUs - before.systemUs,
    rchar: after.rchar - before.rchar,
    wchar: after.wchar - before.wchar,
    maxRssBytes: after.maxRssBytes,
    minorFaults: after.minorFaults - before.minorFaults,
    volCtxSwitches: after.volCtxSwitches - before.volCtxSwitches,
    involCtxSwitches: after.involCtxSwitches - before.involCtxSwitches,
  };
}
