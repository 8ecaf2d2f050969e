import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fbError } from '../core/errors';

/**
 * Makes `dir` (and its missing parents) for writing, or throws FB_ERR_OUT_UNWRITABLE. It never loops:
 * it finds the nearest existing ancestor, checks that one is a writable directory, then creates each
 * missing level once, top down, without `recursive` (Node's recursive mkdir spins for ever under
 * procfs, where mkdir fails with ENOENT below an existing directory). `what` names the option.
 */
export function ensureWritableDir(dir: string, what = '--out'): string {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let cur = abs;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(cur).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw unwritable(what, dir, `${cur}: ${code ?? (e as Error).message}`);
      const up = path.dirname(cur);
      if (up === cur) throw unwritable(what, dir, 'no existing parent');
      missing.unshift(cur);
      cur = up;
      continue;
    }
    if (!isDir) throw unwritable(what, dir, `${cur} is not a directory`);
    break;
  }
  try {
    accessSync(cur, constants.W_OK);
  } catch (e) {
    throw unwritable(what, dir, `${cur} is not writable (${(e as NodeJS.ErrnoException).code ?? 'EACCES'})`);
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(d).isDirectory()) continue; // made meanwhile by another process
      throw unwritable(what, dir, `cannot create ${d} (${code ?? (e as Error).message})`);
    }
  }
  // a directory can pass W_OK and still refuse files (procfs, a read-only mount): write a probe
  const probe = path.join(abs, `.framebench-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    throw unwritable(what, dir, `cannot create files in ${abs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return abs;
}

/** The folder a report file goes into, made as above. */
export function ensureWritableFileDir(file: string, what = '--out'): string {
  ensureWritableDir(path.dirname(path.resolve(file)), what);
  return path.resolve(file);
}

function unwritable(what: string, dir: string, why: string) {
  return fbError('FB_ERR_OUT_UNWRITABLE', `cannot write to ${what} ${dir}: ${why}`);
}
