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

/**
 * A figure measured over rounds: its sample count, median and a distribution-free interval for
 * the median. The interval is a pair of order statistics [x(k), x(n+1-k)]: whatever the
 * distribution of the rounds (as long as they are independent and alike), it holds the true
 * median with probability 1 - 2·P(Binomial(n, 1/2) < k). We take the narrowest such pair whose
 * coverage is at least `level`; with too few rounds for that (n < 6 at 95%) it is [min, max] and
 * `level` says what that pair really covers (93.75% for 5 rounds, 87.5% for 4, 75% for 3).
 */
export interface Interval {
  n: number;
  median: number;
  lo: number;
  hi: number;
  /** Coverage of [lo, hi] for the true median (the achieved level, not the asked one). */
  level: number;
}

/** P(Binomial(n, 1/2) <= k). */
function binomHalfCdf(n: number, k: number): number {
  let term = Math.pow(0.5, n); // C(n,0)/2^n
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/** Coverage of the pair [x(k), x(n+1-k)] (1-based k) for the median of n samples. */
export function orderStatCoverage(n: number, k: number): number {
  return 1 - 2 * binomHalfCdf(n, k - 1);
}

/** Median and its order-statistic interval (see Interval). Non-finite values are left out. */
export function medianInterval(values: number[], level = 0.95): Interval {
  const s = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { n: 0, median: NaN, lo: NaN, hi: NaN, level: 0 };
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && orderStatCoverage(n, k + 1) >= level) k++;
  return { n, median: median(s), lo: s[k - 1], hi: s[n - k], level: n === 1 ? 0 : orderStatCoverage(n, k) };
}

/**
 * A paired ratio: a[i] / b[i] per round (both measured in round i, so drift of the machine
 * hits both alike), then the median of those ratios with its interval. Rounds where either
 * side is missing or b is 0 are left out.
 */
export function pairedRatio(a: number[], b: number[], level = 0.95): Interval {
  const r: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] !== 0) r.push(a[i] / b[i]);
  }
  return medianInterval(r, level);
}

/** Half-width of the interval relative to the median, for '12,863 ±6%' (the larger side). */
export function relativeSpread(iv: Interval): number {
  if (!(iv.median > 0) || iv.n < 2) return NaN;
  return Math.max(iv.hi - iv.median, iv.median - iv.lo) / iv.median;
}
