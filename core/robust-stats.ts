/** Median and MAD: statistics that a single noisy repeat cannot drag. */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median absolute deviation (unscaled). */
export function mad(xs: number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

export interface Summary {
  median: number;
  mad: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(xs: number[]): Summary {
  return { median: median(xs), mad: mad(xs), min: Math.min(...xs), max: Math.max(...xs), samples: xs };
}
