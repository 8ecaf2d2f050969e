import { PerformanceObserver, performance } from 'node:perf_hooks';

/**
 * This process's garbage collections, logged from the moment the first window asks for them
 * (a PerformanceObserver on 'gc' entries: V8 reports each pause with its start and duration).
 * Entries arrive a little after the pause, so a window sums them when its figures are taken,
 * by start time, not at its close.
 */
interface Pause {
  start: number;
  ms: number;
}

const MAX_PAUSES = 100_000;
let pauses: Pause[] | null = null;

/** Starts the log (idempotent). Call before the window opens. */
export function startGcLog(): void {
  if (pauses) return;
  pauses = [];
  const log = pauses;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (log.length < MAX_PAUSES) log.push({ start: e.startTime, ms: e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });
}

/** performance.now() (ms): the time base of the log. */
export function gcClockMs(): number {
  return performance.now();
}

/** GC pauses that started in [fromMs, toMs): their count and total time (µs). */
export function gcBetween(fromMs: number, toMs: number): { count: number; us: number } {
  let count = 0;
  let ms = 0;
  for (const p of pauses ?? []) {
    if (p.start >= fromMs && p.start < toMs) {
      count++;
      ms += p.ms;
    }
  }
  return { count, us: Math.round(ms * 1000) };
}
