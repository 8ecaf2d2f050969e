/**
 * Monotonic time shared by every process on the host: process.hrtime() reads
 * CLOCK_MONOTONIC, which is system-wide on Linux, so a timestamp taken by a
 * producer can be subtracted from one taken by the consumer.
 *
 * Returned as a JS number of nanoseconds (exact below 2^53 ns, ~104 days of
 * uptime; beyond that it loses single nanoseconds, never microseconds).
 */
export function nowNs(): number {
  const t = process.hrtime();
  return t[0] * 1e9 + t[1];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves at (about) the given monotonic time. */
export function sleepUntilNs(targetNs: number): Promise<void> {
  const ms = (targetNs - nowNs()) / 1e6;
  return ms > 0 ? sleep(ms) : Promise.resolve();
}
