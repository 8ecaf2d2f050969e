import type { CaseResult } from './result';
import { medianInterval, type Interval } from './robust-stats';

/**
 * Changes between two sides of `bench compare`, each with an interval:
 * - paired, when each side is one run with rounds and both have the same number: per round
 *   b[i]/a[i] - 1, then the median of those with its order-statistic interval (as the gate does);
 * - otherwise unpaired: each side's values (every round of every run, or each run's figure when it
 *   has no rounds) give a median interval, and the change's interval is the widest ratio of their
 *   ends, [b.lo/a.hi - 1, b.hi/a.lo - 1]: conservative, never narrower than the truth.
 */
export const COMPARE_SCHEMA = 'framebench/compare@1';

export type CompareMetric = 'cpuUsPerFrame.total' | 'copyEquivalents' | 'latencyUs.p99' | 'fps';
export const COMPARE_METRICS: CompareMetric[] = ['cpuUsPerFrame.total', 'copyEquivalents', 'latencyUs.p99', 'fps'];
/** Metrics that depend on the machine: not compared across hosts. */
export const HOST_BOUND: CompareMetric[] = ['cpuUsPerFrame.total', 'latencyUs.p99', 'fps'];

export interface Change extends Interval {
  /** Relative change b/a - 1 (median, lo, hi). */
  paired: boolean;
}

function caseValue(c: CaseResult, m: CompareMetric): number {
  if (m === 'cpuUsPerFrame.total') return c.cpuUsPerFrame.total;
  if (m === 'copyEquivalents') return c.copyEquivalents;
  if (m === 'latencyUs.p99') return c.latencyUs.p99;
  return c.fps;
}

/** A case's per-round values of a metric (failed rounds left out), or its one figure when it has no rounds. */
export function roundValues(c: CaseResult, m: CompareMetric): number[] {
  if (c.status !== 'ok') return [];
  if (!c.rounds?.length) return [caseValue(c, m)];
  return c.rounds.map((r) => (r.status !== 'ok' ? NaN : m === 'cpuUsPerFrame.total' ? r.cpuUsPerFrame.total : m === 'copyEquivalents' ? r.copyEquivalents : m === 'latencyUs.p99' ? r.latencyUs.p99 : r.fps));
}

/** The change from side a to side b of one case (each side: that case in each of the side's runs). */
export function changeOf(a: CaseResult[], b: CaseResult[], m: CompareMetric): Change | null {
  if (a.length === 1 && b.length === 1 && (a[0].rounds?.length ?? 0) > 1 && a[0].rounds?.length === b[0].rounds?.length) {
    const xa = roundValues(a[0], m);
    const xb = roundValues(b[0], m);
    const r: number[] = [];
    for (let i = 0; i < xa.length; i++) if (Number.isFinite(xa[i]) && Number.isFinite(xb[i]) && xa[i] > 0) r.push(xb[i] / xa[i] - 1);
    if (r.length) return { ...medianInterval(r), paired: true };
  }
  const ia = medianInterval(a.flatMap((c) => roundValues(c, m)));
  const ib = medianInterval(b.flatMap((c) => roundValues(c, m)));
  if (!(ia.n > 0 && ib.n > 0 && ia.median > 0 && ia.lo > 0)) return null;
  return { n: Math.min(ia.n, ib.n), median: ib.median / ia.median - 1, lo: ib.lo / ia.hi - 1, hi: ib.hi / ia.lo - 1, level: Math.min(ia.level, ib.level), paired: false };
}

/** Whether a CPU change fails `--fail-above`: its interval lies wholly above zero and its median above the limit (as the gate). */
export function failsAbove(c: Change | null, limit: number): boolean {
  return c !== null && c.lo > 0 && c.median > limit;
}

/** '+12.3% [+8.1%, +15.0%]' (paired) or '… ~' (unpaired, conservative). */
export function changeText(c: Change | null): string {
  if (!c) return '—';
  const p = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;
  return `${p(c.median)} [${p(c.lo)}, ${p(c.hi)}]${c.paired ? '' : ' ~'}`;
}

export interface ChangeRow {
  key: string;
  metric: CompareMetric;
  change: Change | null;
}

/** Every case's changes from runs `a` to runs `b` (host-bound metrics only on one host), keyed by `key(case)`. */
export function caseChanges(a: Array<{ results: CaseResult[] }>, b: Array<{ results: CaseResult[] }>, sameHost: boolean, key: (c: CaseResult) => string): ChangeRow[] {
  const group = (runs: Array<{ results: CaseResult[] }>): Map<string, CaseResult[]> => {
    const m = new Map<string, CaseResult[]>();
    for (const r of runs) for (const c of r.results) m.set(key(c), [...(m.get(key(c)) ?? []), c]);
    return m;
  };
  const ga = group(a);
  const gb = group(b);
  const rows: ChangeRow[] = [];
  for (const [k, ca] of ga) {
    const cb = gb.get(k);
    if (!cb) continue;
    for (const m of COMPARE_METRICS) if (sameHost || !HOST_BOUND.includes(m)) rows.push({ key: k, metric: m, change: changeOf(ca, cb, m) });
  }
  return rows;
}
