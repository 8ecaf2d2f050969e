import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export interface ThreadSamples {
  /** Samples taken. */
  samples: number;
  /** ... with the thread asleep in futex (202) or futex_waitv (449): a blocking wait. */
  futex: number;
  /** ... with the thread asleep in epoll_wait / epoll_pwait (/2): the event loop, idle. */
  idle: number;
}

/** The calling JS thread's task directory under /proc ("<pid>/task/<tid>"). */
function ownTask(): string {
  return readlinkSync('/proc/thread-self');
}

const SAMPLER = `
const fs = require('node:fs');
const { workerData, parentPort } = require('node:worker_threads');
const fd = fs.openSync('/proc/' + workerData.task + '/syscall', 'r');
const buf = Buffer.alloc(256);
const nap = new Int32Array(new SharedArrayBuffer(4));
const end = Date.now() + workerData.ms;
let samples = 0, futex = 0, idle = 0;
while (Date.now() < end) {
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  const nr = parseInt(buf.toString('latin1', 0, n), 10);
  samples++;
  if (nr === 202 || nr === 449) futex++;
  else if (nr === 232 || nr === 281 || nr === 441) idle++;
  Atomics.wait(nap, 0, 0, workerData.everyMs);
}
fs.closeSync(fd);
parentPort.postMessage({ samples, futex, idle });
`;

/**
 * Samples, from a worker thread, which system call the calling JS thread is in (Linux
 * /proc/<pid>/task/<tid>/syscall), every `everyMs` for `ms`. A thread that blocks in a futex wait
 * shows as `futex`; one whose event loop waits for work shows as `idle`. The sampling costs the
 * sampled thread nothing (it reads the kernel's view of it), so the result does not depend on load.
 */
export function sampleJsThread(ms: number, everyMs = 0.5): Promise<ThreadSamples> {
  const w = new Worker(SAMPLER, { eval: true, workerData: { task: ownTask(), ms, everyMs } });
  return new Promise((resolve, reject) => {
    w.once('message', (m: ThreadSamples) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}
