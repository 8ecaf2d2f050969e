import { describe, expect, it } from 'vitest';
import { medianInterval, orderStatCoverage, pairedRatio, relativeSpread } from '../core/robust-stats';

/** xorshift32 in [0, 1). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}

/** Standard normal by Box-Muller. */
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

// Distributions with a known median, shaped like benchmark rounds: symmetric, skewed, heavy-tailed.
const DISTS: Array<{ name: string; median: number; draw: (r: () => number) => number }> = [
  { name: 'normal(100, 10)', median: 100, draw: (r) => 100 + 10 * normal(r) },
  { name: 'lognormal(ln 50, 0.5)', median: 50, draw: (r) => 50 * Math.exp(0.5 * normal(r)) },
  { name: 'exponential(mean 1)', median: Math.LN2, draw: (r) => -Math.log(1 - r()) },
  { name: 'uniform(0, 3)', median: 1.5, draw: (r) => 3 * r() },
  { name: '90% normal + 10% 3x outliers', median: NaN, draw: (r) => (r() < 0.9 ? 1000 + 50 * normal(r) : 3000 + 100 * normal(r)) },
];

describe('median intervals (order statistics)', () => {
  it('coverage formula: 5 rounds [min,max] = 93.75%, 4 = 87.5%, 10 rounds [x2,x9] = 97.85%', () => {
    expect(orderStatCoverage(5, 1)).toBeCloseTo(0.9375, 10);
    expect(orderStatCoverage(4, 1)).toBeCloseTo(0.875, 10);
    expect(orderStatCoverage(10, 2)).toBeCloseTo(1 - 2 * (1 + 10) / 1024, 10);
  });

  it('picks the narrowest pair with >= 95% and reports the achieved level', () => {
    const xs = [5, 1, 4, 2, 3, 9, 8, 7, 6, 10];
    const iv = medianInterval(xs);
    expect(iv).toMatchObject({ n: 10, median: 5.5, lo: 2, hi: 9 });
    expect(iv.level).toBeGreaterThanOrEqual(0.95);
    const five = medianInterval([3, 1, 2, 5, 4]);
    expect(five).toMatchObject({ n: 5, median: 3, lo: 1, hi: 5 });
    expect(five.level).toBeCloseTo(0.9375, 10);
    expect(medianInterval([]).n).toBe(0);
    expect(medianInterval([7, NaN, Infinity]).n).toBe(1);
  });

  // The mixture's true median is found numerically from a large sample.
  const mixMedian = (() => {
    const r = rng(99);
    const big = Array.from({ length: 200_001 }, () => DISTS[4].draw(r)).sort((a, b) => a - b);
    return big[100_000];
  })();

  for (const d of DISTS) {
    for (const n of [5, 7, 10, 20]) {
      it(`${d.name}, ${n} rounds: the interval holds the true median 90-99% of the time`, () => {
        const truth = Number.isNaN(d.median) ? mixMedian : d.median;
        const r = rng(1234 + n);
        const trials = 4000;
        let hit = 0;
        for (let t = 0; t < trials; t++) {
          const iv = medianInterval(Array.from({ length: n }, () => d.draw(r)));
          if (iv.lo <= truth && truth <= iv.hi) hit++;
        }
        const coverage = hit / trials;
        expect(coverage).toBeGreaterThanOrEqual(0.9);
        expect(coverage).toBeLessThanOrEqual(0.99);
      });
    }
  }
});

describe('paired ratios', () => {
  it('pairs round by round, so a drift shared by both sides cancels', () => {
    // both sides slow down 3x over the rounds; the ratio stays 7
    const drift = [1, 1.5, 2, 2.5, 3];
    const ws = drift.map((d) => 7000 * d);
    const shm = drift.map((d) => 1000 * d);
    const iv = pairedRatio(ws, shm);
    expect(iv).toMatchObject({ n: 5, median: 7, lo: 7, hi: 7 });
    // unpaired, the two medians' spread would be wide: not what pairedRatio returns
    expect(relativeSpread(medianInterval(ws))).toBeGreaterThan(0.4);
  });

  it('leaves out rounds where a side is missing or zero', () => {
    expect(pairedRatio([10, 20, 30, NaN], [5, 0, 10, 1]).n).toBe(2);
  });

  it('covers the true ratio 90-99% of the time under independent noise on both sides', () => {
    const r = rng(7);
    let hit = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const drift = Array.from({ length: 7 }, () => 1 + r());
      const a = drift.map((d) => 7000 * d * Math.exp(0.1 * normal(r)));
      const b = drift.map((d) => 1000 * d * Math.exp(0.1 * normal(r)));
      const iv = pairedRatio(a, b);
      if (iv.lo <= 7 && 7 <= iv.hi) hit++; // log-ratio is symmetric about ln 7: the median ratio is 7
    }
    expect(hit / trials).toBeGreaterThanOrEqual(0.9);
    expect(hit / trials).toBeLessThanOrEqual(0.99);
  });
});
