import { median, medianInterval } from './robust-stats';

/**
 * A straight line through measured points, y = fixed + slope × x, by weighted least squares, with
 * intervals from a bootstrap over rounds (docs/sweeps.md).
 *
 * - Each point is one case measured in every round: `ys[r]` is round r's figure (NaN when that round
 *   failed). The point's value is the median over rounds, its interval the order-statistic interval.
 * - Weights are n / s², n the point's good rounds and s its spread over them (1.4826 × MAD, at least 1% of
 *   its value; with fewer than 3 rounds the others' pooled relative spread): a noisy point pulls the line less.
 * - Intervals: draw R round indices with replacement, take every point's median over the drawn rounds,
 *   refit; repeat B times; the 2.5th and 97.5th percentiles of the refits. Every point of a draw uses the
 *   SAME rounds, so drift of the machine that hits a whole round hits every point alike (the sweep's
 *   cases are interleaved in each round): the paired-round structure is kept. Two fits drawn with the
 *   same plan are paired with each other too (crossing points).
 * - Residual check: a fit is `linear` when the line passes through every point's own interval; otherwise
 *   the points say the cost is not linear in x over this range (or one point is off) and reports flag it.
 */

export interface FitPoint {
  x: number;
  /** The figure in each round, in round order (NaN: round failed). */
  ys: number[];
}

export interface Residual {
  x: number;
  /** Median over rounds. */
  y: number;
  lo: number;
  hi: number;
  fitted: number;
  /** y - fitted. */
  residual: number;
  /** The fitted value lies in [lo, hi]. */
  within: boolean;
}

export interface LineFit {
  fixed: number;
  slope: number;
  /** 95% bootstrap interval of each term ([NaN, NaN] with fewer than 3 rounds). */
  fixedIv: [number, number];
  slopeIv: [number, number];
  /** Nominal level of the intervals. */
  level: number;
  points: number;
  rounds: number;
  /** Bootstrap draws behind the intervals (0: none). */
  draws: number;
  residuals: Residual[];
  /** The line passes through every point's interval. */
  linear: boolean;
}

/** A fit with its bootstrap draws (kept in memory for crossing points, never written out). */
export interface FitWithDraws extends LineFit {
  drawFixed: number[];
  drawSlope: number[];
}

/** Round indices drawn with replacement, `draws` times: the shared plan that pairs fits. */
export type BootstrapPlan = number[][];

export const FIT_LEVEL = 0.95;
export const DEFAULT_DRAWS = 2000;

/** mulberry32: a small seeded generator, so a report re-rendered from the same result draws the same. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `draws` resamples of `rounds` round indices (empty with fewer than 3 rounds: too few to resample). */
export function bootstrapPlan(rounds: number, draws = DEFAULT_DRAWS, seed = 19): BootstrapPlan {
  if (rounds < 3) return [];
  const next = rng(seed);
  return Array.from({ length: draws }, () => Array.from({ length: rounds }, () => Math.floor(next() * rounds)));
}

/** Weighted least squares of y = a + b x; null when the x values do not span a line. */
export function wls(xs: number[], ys: number[], ws: number[]): { fixed: number; slope: number } | null {
  let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < xs.length; i++) {
    const w = ws[i];
    if (!(w > 0) || !Number.isFinite(ys[i])) continue;
    sw += w;
    sx += w * xs[i];
    sy += w * ys[i];
    sxx += w * xs[i] * xs[i];
    sxy += w * xs[i] * ys[i];
  }
  const det = sw * sxx - sx * sx;
  if (!(sw > 0) || !(Math.abs(det) > 1e-12 * sw * sxx)) return null;
  const slope = (sw * sxy - sx * sy) / det;
  return { fixed: (sy - slope * sx) / sw, slope };
}

/** Percentile of sorted values (linear interpolation). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = (sorted.length - 1) * p;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  if (sorted[hi] === sorted[lo]) return sorted[lo]; // also keeps Infinity out of 0 x Infinity
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

/** 1.4826 × MAD of a point's finite rounds, and how many there are. */
function scaleOf(ys: number[]): { n: number; m: number; scale: number } {
  const ok = ys.filter(Number.isFinite);
  const m = median(ok);
  return { n: ok.length, m, scale: median(ok.map((y) => Math.abs(y - m))) * 1.4826 };
}

/**
 * Weights n / s² (the variance of a median shrinks with its rounds). A point with fewer than 3 good rounds
 * cannot show its own spread: it gets the pooled relative spread of the others (median of their MAD / median;
 * 5% without any), so one lucky round never counts as a precise point. Every s is at least 1% of the point.
 */
export function weightsOf(points: FitPoint[]): number[] {
  const sc = points.map((p) => scaleOf(p.ys));
  const rel = sc.filter((x) => x.n >= 3 && Math.abs(x.m) > 0).map((x) => x.scale / Math.abs(x.m));
  const pooled = rel.length ? median(rel) : 0.05;
  return sc.map((x) => {
    const s = Math.max(x.scale, x.n < 3 ? pooled * Math.abs(x.m) : 0, Math.abs(x.m) * 0.01, 1e-9);
    return x.n / (s * s);
  });
}

/** The weighted line through the points, with bootstrap intervals drawn by `plan` (pass one plan to pair fits). */
export function fitLine(points: FitPoint[], plan: BootstrapPlan = bootstrapPlan(Math.max(0, ...points.map((p) => p.ys.length)))): FitWithDraws | null {
  const pts = points.filter((p) => p.ys.some(Number.isFinite));
  if (new Set(pts.map((p) => p.x)).size < 2) return null;
  const xs = pts.map((p) => p.x);
  const ws = weightsOf(pts);
  const meds = pts.map((p) => median(p.ys.filter(Number.isFinite)));
  const best = wls(xs, meds, ws);
  if (!best) return null;
  const drawFixed: number[] = [];
  const drawSlope: number[] = [];
  for (const idx of plan) {
    const ys = pts.map((p) => median(idx.map((r) => p.ys[r]).filter((y): y is number => y !== undefined && Number.isFinite(y))));
    const f = wls(xs, ys, ws);
    if (!f) continue;
    drawFixed.push(f.fixed);
    drawSlope.push(f.slope);
  }
  const iv = (d: number[]): [number, number] => {
    if (d.length < 20) return [NaN, NaN];
    const s = [...d].sort((a, b) => a - b);
    return [percentile(s, (1 - FIT_LEVEL) / 2), percentile(s, 1 - (1 - FIT_LEVEL) / 2)];
  };
  const residuals = pts.map((p, i): Residual => {
    const m = medianInterval(p.ys);
    const fitted = best.fixed + best.slope * p.x;
    // one round gives no interval: the point is its own, and only an exact fit is "within"
    return { x: p.x, y: meds[i], lo: m.lo, hi: m.hi, fitted, residual: meds[i] - fitted, within: fitted >= m.lo - 1e-9 * Math.abs(m.lo) && fitted <= m.hi + 1e-9 * Math.abs(m.hi) };
  });
  return {
    fixed: best.fixed,
    slope: best.slope,
    fixedIv: iv(drawFixed),
    slopeIv: iv(drawSlope),
    level: FIT_LEVEL,
    points: pts.length,
    rounds: Math.max(...pts.map((p) => p.ys.length)),
    draws: drawFixed.length,
    residuals,
    linear: residuals.every((r) => r.within),
    drawFixed,
    drawSlope,
  };
}

/** The fit without its draws (what results.json keeps). */
export function withoutDraws(f: FitWithDraws): LineFit {
  const { drawFixed: _f, drawSlope: _s, ...rest } = f;
  return rest;
}

/** Half-width of the slope's interval relative to the slope (the larger side): 0.08 = ±8%. */
export function slopeSpread(f: LineFit): number {
  if (!(Math.abs(f.slope) > 0) || !Number.isFinite(f.slopeIv[0])) return NaN;
  return Math.max(f.slopeIv[1] - f.slope, f.slope - f.slopeIv[0]) / Math.abs(f.slope);
}

/** Where two lines cross, with the uncertainty of both fits carried through their paired draws. */
export interface Crossing {
  /** x where a and b cost the same (NaN: parallel). */
  x: number;
  /** 95% interval of x over the paired draws ([NaN, NaN] without draws or when most draws do not cross at x > 0). */
  xIv: [number, number];
  /** Share of draws whose lines cross at some x > 0 (1: the crossing is sure; near 0.5: it may not exist). */
  crossShare: number;
  /** Below x (and above 0) this one is cheaper; above x the other. Without a crossing at x > 0: cheaper everywhere. */
  cheaperBelow: 'a' | 'b';
  /** Whether x lies inside the measured x range (else it is an extrapolation). */
  inRange: boolean;
}

/** x where a.fixed + a.slope x = b.fixed + b.slope x. */
export function crossAt(a: { fixed: number; slope: number }, b: { fixed: number; slope: number }): number {
  const ds = a.slope - b.slope;
  return ds === 0 ? NaN : (b.fixed - a.fixed) / ds;
}

/** The crossing of two fits drawn with the same plan; `range` is the measured x range. */
export function crossing(a: FitWithDraws, b: FitWithDraws, range: [number, number]): Crossing {
  const x = crossAt(a, b);
  const cheaperBelow = a.fixed < b.fixed || (a.fixed === b.fixed && a.slope > b.slope) ? 'a' : 'b';
  const xs: number[] = [];
  const n = Math.min(a.drawFixed.length, b.drawFixed.length);
  let crosses = 0;
  for (let i = 0; i < n; i++) {
    const xi = crossAt({ fixed: a.drawFixed[i], slope: a.drawSlope[i] }, { fixed: b.drawFixed[i], slope: b.drawSlope[i] });
    xs.push(Number.isFinite(xi) && xi > 0 ? xi : Infinity);
    if (Number.isFinite(xi) && xi > 0) crosses++;
  }
  xs.sort((p, q) => p - q);
  const share = n ? crosses / n : Number.isFinite(x) && x > 0 ? 1 : 0;
  // draws without a crossing at x > 0 count as "beyond every size": the upper end is then unbounded
  const xIv: [number, number] = n >= 20 && share >= 0.5 ? [percentile(xs, (1 - FIT_LEVEL) / 2), percentile(xs, 1 - (1 - FIT_LEVEL) / 2)] : [NaN, NaN];
  return { x, xIv, crossShare: share, cheaperBelow, inRange: x >= range[0] && x <= range[1] };
}
