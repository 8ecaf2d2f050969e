import { describe, expect, it } from 'vitest';
import { gauss } from './support/sweep-run';
import { bootstrapPlan, crossAt, crossing, fitLine, slopeSpread, weightsOf, wls, type FitPoint } from '../core/fit';


const SIZES = [345_600, 1_382_400, 3_110_400, 12_441_600]; // I420 360p, 720p, 1080p, 4K

/** Points on fixed + slope x, each round's value off by `cv` relative noise, plus a drift shared by every point of a round. */
function synthetic(fixed: number, slope: number, rounds: number, cv: number, seed: number, drift = 0): FitPoint[] {
  const g = gauss(seed);
  const roundDrift = Array.from({ length: rounds }, () => 1 + drift * g());
  return SIZES.map((x) => ({ x, ys: roundDrift.map((d) => (fixed + slope * x) * d * (1 + cv * g())) }));
}

describe('weighted least squares', () => {
  it('is exact on points on a line', () => {
    const f = wls([1, 2, 3], [5, 7, 9], [1, 1, 1])!;
    expect(f.fixed).toBeCloseTo(3, 12);
    expect(f.slope).toBeCloseTo(2, 12);
  });

  it('lets a heavy point pull the line and ignores a zero-weight one', () => {
    const light = wls([0, 1, 2], [0, 1, 10], [1, 1, 1e-9])!;
    expect(light.slope).toBeCloseTo(1, 6);
    expect(wls([0, 1, 2], [0, 1, 10], [1, 1, 0])!.slope).toBeCloseTo(1, 12);
  });

  it('refuses points that do not span a line', () => {
    expect(wls([2, 2, 2], [1, 2, 3], [1, 1, 1])).toBeNull();
    expect(fitLine([{ x: 5, ys: [1, 2, 3] }, { x: 5, ys: [2, 3, 4] }])).toBeNull();
  });
});

describe('fitLine recovers known terms from noisy data', () => {
  // 90 µs fixed + 1 µs per 1,000 bytes (a few copy-equivalents of a memcpy at ~10 GB/s)
  const FIXED = 90;
  const SLOPE = 0.001;

  it('within its 95% intervals, which are narrow with little noise', () => {
    const f = fitLine(synthetic(FIXED, SLOPE, 9, 0.03, 1))!;
    expect(f.draws).toBeGreaterThan(1000);
    expect(f.slopeIv[0]).toBeLessThanOrEqual(SLOPE);
    expect(f.slopeIv[1]).toBeGreaterThanOrEqual(SLOPE);
    expect(f.fixedIv[0]).toBeLessThanOrEqual(FIXED);
    expect(f.fixedIv[1]).toBeGreaterThanOrEqual(FIXED);
    expect(Math.abs(f.slope / SLOPE - 1)).toBeLessThan(0.05);
    expect(slopeSpread(f)).toBeLessThan(0.1);
    expect(f.linear).toBe(true);
  });

  it('covers the true slope in about 95% of repeated experiments (with a drift shared by each round)', () => {
    let covered = 0;
    const trials = 40;
    for (let s = 0; s < trials; s++) {
      const f = fitLine(synthetic(FIXED, SLOPE, 7, 0.05, 100 + s, 0.03))!;
      if (f.slopeIv[0] <= SLOPE && SLOPE <= f.slopeIv[1]) covered++;
    }
    // a bootstrap over few rounds runs somewhat narrow; far below 80% would mean the intervals are wrong
    expect(covered / trials).toBeGreaterThan(0.8);
  });

  it('widens its intervals when the data is noisier', () => {
    const quiet = fitLine(synthetic(FIXED, SLOPE, 9, 0.02, 7))!;
    const noisy = fitLine(synthetic(FIXED, SLOPE, 9, 0.2, 7))!;
    expect(slopeSpread(noisy)).toBeGreaterThan(slopeSpread(quiet) * 2);
  });

  it('flags a curve as not linear, and keeps each point with its residual', () => {
    const curve = SIZES.map((x) => ({ x, ys: [0.98, 1, 1.01, 0.99, 1.02].map((k) => (50 + 1e-9 * x * x) * k) }));
    const f = fitLine(curve)!;
    expect(f.linear).toBe(false);
    expect(f.residuals.some((r) => !r.within)).toBe(true);
    expect(f.residuals.map((r) => r.x)).toEqual(SIZES);
    for (const r of f.residuals) expect(r.residual).toBeCloseTo(r.y - r.fitted, 9);
  });

  it('leaves failed rounds (NaN) out, and gives no interval with fewer than 3 rounds', () => {
    const pts = synthetic(FIXED, SLOPE, 6, 0.02, 3).map((p) => ({ ...p, ys: p.ys.map((y, i) => (i === 2 ? NaN : y)) }));
    const f = fitLine(pts)!;
    expect(Number.isFinite(f.slope) && Number.isFinite(f.slopeIv[0])).toBe(true);
    const two = fitLine(synthetic(FIXED, SLOPE, 2, 0.02, 3))!;
    expect(two.draws).toBe(0);
    expect(two.slopeIv.every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(slopeSpread(two))).toBe(true);
  });
});

describe('crossing points', () => {
  it('finds where two known lines cross', () => {
    expect(crossAt({ fixed: 100, slope: 1 }, { fixed: 40, slope: 3 })).toBe(30);
    expect(Number.isNaN(crossAt({ fixed: 1, slope: 2 }, { fixed: 3, slope: 2 }))).toBe(true);
  });

  it('carries both fits\' uncertainty through paired draws, and names the cheaper side below it', () => {
    // a: low fixed cost, steep (a socket); b: high fixed cost, shallow (a ring). They cross at 1,500,000 B.
    const plan = bootstrapPlan(9);
    const a = fitLine(synthetic(30, 0.0001, 9, 0.03, 11), plan)!;
    const b = fitLine(synthetic(180, 0.0000, 9, 0.03, 12).map((p) => ({ ...p, ys: p.ys.map((y) => y) })), plan);
    expect(b).not.toBeNull();
    const x = crossing(a, b!, [SIZES[0], SIZES[3]]);
    expect(x.x).toBeGreaterThan(1_200_000);
    expect(x.x).toBeLessThan(1_800_000);
    expect(x.xIv[0]).toBeLessThanOrEqual(x.x);
    expect(x.xIv[1]).toBeGreaterThanOrEqual(x.x);
    expect(x.crossShare).toBeGreaterThan(0.95);
    expect(x.cheaperBelow).toBe('a');
    expect(x.inRange).toBe(true);
  });

  it('says when the lines do not cross at a positive size', () => {
    const plan = bootstrapPlan(7);
    const cheap = fitLine(synthetic(20, 0.0001, 7, 0.02, 21), plan)!;
    const dear = fitLine(synthetic(80, 0.0003, 7, 0.02, 22), plan)!;
    const x = crossing(cheap, dear, [SIZES[0], SIZES[3]]);
    expect(x.crossShare).toBeLessThan(0.05);
    expect(x.cheaperBelow).toBe('a');
    expect(x.xIv.every(Number.isNaN)).toBe(true);
  });
});

describe('weights', () => {
  it('a point with one good round does not count as precise', () => {
    const pts: FitPoint[] = [
      { x: 1, ys: [100, 110, 90, 105, 95] },
      { x: 2, ys: [200, 220, 180, 210, 190] },
      { x: 4, ys: [NaN, NaN, 400, NaN, NaN] },
    ];
    const w = weightsOf(pts);
    // the lone round gets the others' relative spread (~7%) and a fifth of the rounds: far less weight than a 1% floor would give
    expect(w[2]).toBeLessThan(w[1]);
    expect(w[2]).toBeLessThan(1 / (400 * 0.01) ** 2 / 10);
  });
});
