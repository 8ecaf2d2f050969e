import * as hdr from 'hdr-histogram-js';

/**
 * Latency histograms (µs). One per process, serialised to the coordinator and merged there.
 * Range 1 µs .. 10 s, 3 significant digits (values above are clamped to the maximum and counted).
 */
export type Histogram = hdr.Histogram;
const HIGHEST_US = 1e7;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

function clamp(us: number): number {
  return Math.max(1, Math.min(HIGHEST_US, Math.round(us)));
}

/**
 * Records one real sample, once. No synthetic back-fill (`recordValueWithExpectedInterval`):
 * that is for closed-loop clients that skip the sends a stall made late; framebench's paced
 * producers send every late frame and the consumer measures it from its scheduled send time, so
 * each delayed frame already carries its own delay (docs/architecture.md, "Latency").
 */
export function recordUs(h: Histogram, us: number): void {
  h.recordValue(clamp(us));
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decode(s: string): Histogram {
  return hdr.decodeFromCompressedBase64(s);
}

export function merge(parts: string[]): Histogram {
  const out = newHistogram();
  for (const p of parts) if (p) out.add(decode(p));
  return out;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  count: number;
}

export function percentiles(h: Histogram): Percentiles {
  if (h.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 };
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    mean: Math.round(h.mean * 10) / 10,
    count: h.totalCount,
  };
}
