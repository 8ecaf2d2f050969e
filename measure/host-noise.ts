import { readFileSync } from 'node:fs';
import type { HostCpuTicks } from '../core/case';
import type { RoundNoise } from '../core/result';

/**
 * Host noise of one measurement window: how much of the machine someone else had while a case
 * was measured. From /proc/stat's aggregate `cpu` line (all CPUs summed, in USER_HZ ticks) read
 * at the window's open and close:
 *
 *  - stealPct: steal ticks / all ticks, % of the host's capacity (the hypervisor ran another guest);
 *  - otherCpuPct: busy ticks (user + nice + system + irq + softirq; guest time is already inside
 *    user and nice) minus the CPU this case's own processes used over their windows (producers,
 *    consumer, a transport's server), as % of one core over the window.
 *
 * A window is `noisy` when either passes its bound (NOISE_BOUNDS). Noisy windows are flagged in
 * the result, never dropped. Ticks are 10 ms: over a 1.5 s window one tick is 0.7% of a core, and
 * the kernel's tick-sampled split can differ from the processes' own µs counters by a few ticks,
 * so small negative "other" values are clamped to 0.
 */

/** Ticks per second of /proc/stat (USER_HZ): 100 on every Linux ABI framebench runs on. */
export const USER_HZ = 100;

/** Where a window becomes noisy. The one place these bounds live (docs/architecture.md, "Noise"). */
export const NOISE_BOUNDS = {
  /** Steal time, % of the host's capacity over the window. */
  stealPct: 5,
  /** CPU used by processes other than the case's own, % of one core over the window. */
  otherCpuPct: 25,
} as const;

const FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/** The aggregate `cpu ` line of a /proc/stat text (null when absent or malformed). Missing trailing fields are 0. */
export function parseProcStat(text: string): HostCpuTicks | null {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return null;
  const nums = line.trim().split(/\s+/).slice(1).map(Number);
  if (nums.length < 4 || nums.slice(0, 4).some((n) => !Number.isFinite(n))) return null;
  const out = {} as HostCpuTicks;
  FIELDS.forEach((f, i) => (out[f] = Number.isFinite(nums[i]) ? nums[i] : 0));
  return out;
}

/** This host's /proc/stat `cpu` line now, or null (not Linux, unreadable). */
export function readHostTicks(): HostCpuTicks | null {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

export function diffTicks(after: HostCpuTicks, before: HostCpuTicks): HostCpuTicks {
  const out = {} as HostCpuTicks;
  for (const f of FIELDS) out[f] = after[f] - before[f];
  return out;
}

export function totalTicks(d: HostCpuTicks): number {
  return FIELDS.reduce((a, f) => a + d[f], 0);
}

/** Ticks some process (or the kernel for it) was running: not idle, not waiting on I/O, not stolen. */
export function busyTicks(d: HostCpuTicks): number {
  return d.user + d.nice + d.system + d.irq + d.softirq;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * The noise of one window.
 * @param d       /proc/stat deltas over the window
 * @param seconds the window's length
 * @param ownCpuUs CPU this case's own processes used over the window (µs)
 */
export function hostNoise(d: HostCpuTicks, seconds: number, ownCpuUs: number): RoundNoise {
  const total = totalTicks(d);
  const stealPct = total > 0 ? round1((100 * Math.max(0, d.steal)) / total) : 0;
  const otherUs = Math.max(0, (busyTicks(d) * 1e6) / USER_HZ - ownCpuUs);
  const otherCpuPct = seconds > 0 ? round1((100 * otherUs) / (seconds * 1e6)) : 0;
  const reasons: string[] = [];
  if (stealPct > NOISE_BOUNDS.stealPct) reasons.push(`steal ${stealPct}% of the host's CPU (bound ${NOISE_BOUNDS.stealPct}%)`);
  if (otherCpuPct > NOISE_BOUNDS.otherCpuPct) {
    reasons.push(`other processes used ${otherCpuPct}% of a core (bound ${NOISE_BOUNDS.otherCpuPct}%)`);
  }
  return { stealPct, otherCpuPct, noisy: reasons.length > 0, ...(reasons.length ? { reason: reasons.join('; ') } : {}) };
}
