import { constants, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';

/**
 * `bench run --flame` profiles the measured window only. MeasureWindow calls profileWindow('enable')
 * when the window opens and profileWindow('disable') when it closes; what that does depends on the
 * profiler the run chose for this child:
 * - perf (FRAMEBENCH_PERF_CTL = a FIFO): the child runs under `perf record -D -1 --control fifo:<ctl>`,
 *   which starts with sampling off; 'enable' / 'disable' are written to that FIFO.
 * - V8 (FRAMEBENCH_V8_PROF_DIR = a directory): V8's sampling profiler is started and stopped through
 *   node:inspector in this thread, and the profile is written there as <pid>-<thread>.cpuprofile.
 * Without either (no --flame) it does nothing. Profiling is best-effort: it never fails a run.
 */
export const PERF_CTL_ENV = 'FRAMEBENCH_PERF_CTL';
export const V8_PROF_DIR_ENV = 'FRAMEBENCH_V8_PROF_DIR';
/** Sampling interval of the V8 profiler, µs (what --cpu-prof uses by default). */
const V8_INTERVAL_US = 1000;

let fd: number | null | undefined;
let session: import('node:inspector').Session | null = null;

export function profileWindow(cmd: 'enable' | 'disable'): void {
  perfControl(cmd);
  v8Control(cmd);
}

function perfControl(cmd: 'enable' | 'disable'): void {
  const fifo = process.env[PERF_CTL_ENV];
  if (!fifo || fd === null) return;
  try {
    // non-blocking: perf holds the FIFO open; if nobody reads it, ENXIO instead of a hang
    if (fd === undefined) fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, `${cmd}\n`);
  } catch {
    fd = null;
  }
}

function v8Control(cmd: 'enable' | 'disable'): void {
  const dir = process.env[V8_PROF_DIR_ENV];
  if (!dir) return;
  try {
    if (cmd === 'enable' && !session) {
      const inspector = require('node:inspector') as typeof import('node:inspector');
      const s = new inspector.Session();
      s.connect();
      s.post('Profiler.enable');
      s.post('Profiler.setSamplingInterval', { interval: V8_INTERVAL_US });
      s.post('Profiler.start');
      session = s;
    } else if (cmd === 'disable' && session) {
      const s = session;
      session = null;
      s.post('Profiler.stop', (err, res) => {
        if (!err && res?.profile) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(path.join(dir, `${process.pid}-${threadId}.cpuprofile`), JSON.stringify(res.profile));
        }
        s.disconnect();
      });
    }
  } catch {
    session = null;
  }
}
