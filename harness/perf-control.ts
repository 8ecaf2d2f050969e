import { constants, openSync, writeSync } from 'node:fs';

/**
 * `bench run --flame` with perf: each child runs under `perf record -D -1 --control fifo:<ctl>`,
 * which starts with sampling off. The measured window turns it on when it opens and off when it
 * closes, so the flame graphs show the window only (no module loading, JIT warm-up or teardown).
 * The FIFO's path comes in FRAMEBENCH_PERF_CTL; without it (no --flame) this does nothing.
 */
export const PERF_CTL_ENV = 'FRAMEBENCH_PERF_CTL';

let fd: number | null | undefined;

export function perfControl(cmd: 'enable' | 'disable'): void {
  const fifo = process.env[PERF_CTL_ENV];
  if (!fifo || fd === null) return;
  try {
    // non-blocking: perf holds the FIFO open; if nobody reads it, ENXIO instead of a hang
    if (fd === undefined) fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, `${cmd}\n`);
  } catch {
    fd = null; // profiling is best-effort: never fail a measured run over it
  }
}
