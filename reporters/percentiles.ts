import type { CaseResult } from '../core/result';

/**
 * A latency percentile is printed as a number only when the real samples behind it (latencyUs.count) can
 * support it: the p-th percentile of fewer than 1/(1-p) samples is the maximum under another name (45 realtime
 * frames: p99 = p99.9 = max). Below the bound a report shows `—` and the count instead.
 */
export type PercentileKey = 'p50' | 'p90' | 'p99' | 'p999';

/** Real samples each percentile needs: 1 / (1 - p). */
export const PERCENTILE_MIN_SAMPLES: Readonly<Record<PercentileKey, number>> = Object.freeze({ p50: 2, p90: 10, p99: 100, p999: 1000 });

export const PERCENTILE_LABEL: Readonly<Record<PercentileKey, string>> = Object.freeze({ p50: 'p50', p90: 'p90', p99: 'p99', p999: 'p99.9' });

/** True when the case has enough real latency samples for this percentile. */
export function percentileSupported(c: CaseResult, key: PercentileKey): boolean {
  return c.latencyUs.count >= PERCENTILE_MIN_SAMPLES[key];
}

/** The percentile's value when supported, else null. */
export function percentileValue(c: CaseResult, key: PercentileKey): number | null {
  return percentileSupported(c, key) ? c.latencyUs[key] : null;
}

/** The percentile formatted by `fmt`, or `— (n=45)` when the samples cannot support it. */
export function fmtPercentile(c: CaseResult, key: PercentileKey, fmt: (us: number) => string): string {
  return percentileSupported(c, key) ? fmt(c.latencyUs[key]) : `— (n=${c.latencyUs.count.toLocaleString('en-US')})`;
}

/** One sentence for a table footer: why some percentiles show `—`. */
export const PERCENTILE_NOTE = `— (n=…): too few latency samples for that percentile (p99 needs ${PERCENTILE_MIN_SAMPLES.p99}, ` +
  `p99.9 ${PERCENTILE_MIN_SAMPLES.p999.toLocaleString('en-US')}); n = real samples`;
