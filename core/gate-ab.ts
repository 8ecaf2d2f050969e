import { median, medianInterval, type Interval } from './robust-stats';

/**
 * The same-machine A/B gate (`bench gate --against <ref>`): the base tree (the ref) and the head
 * tree (this checkout) are measured in the same rounds, so each round gives one paired change
 * head/base - 1 of every metric; drift of the machine moves both sides of a pair alike.
 * - copy-equivalents (CPU per frame over the round's calibrated memcpy): a regression when the
 *   interval of the paired changes lies wholly above zero AND their median exceeds the threshold;
 * - copy passes per frame per side: a regression when the head's median passes exceed the base's by
 *   more than the bound: the absolute tolerance, or, where either side's own rounds spread wider
 *   (ws: a fragment that spans two socket reads is copied to be joined, so its passes follow how
 *   the kernel splits reads, 3.44-3.93 across the rounds of one run), that spread plus a fifth of
 *   the tolerance. A real extra copy moves every round by a whole pass, so it still fails.
 */
export const GATE_AB_SCHEMA = 'framebench/gate-ab@1';

export type AbMetric = 'copyEquivalents' | 'passes.producer' | 'passes.consumer';
export const AB_METRICS: AbMetric[] = ['copyEquivalents', 'passes.producer', 'passes.consumer'];

/** One transport's per-round values of one metric on each side (NaN where that window failed). */
export interface AbSamples {
  base: number[];
  head: number[];
}

export interface AbRow {
  transport: string;
  metric: AbMetric;
  /** Medians over the rounds of each side. */
  base: number;
  head: number;
  /** copy-equivalents: the paired relative change (0.12 = +12%) with its interval; passes: absent. */
  change?: Interval;
  /** passes: head - base medians (absolute passes per frame). */
  delta?: number;
  /** passes: the largest delta that passes (the tolerance, or the sides' own spread). */
  bound?: number;
  /** The per-round values behind the row (NaN, written as null, where a window failed). */
  samples?: AbSamples;
  verdict: 'pass' | 'regression' | 'improved' | 'unmeasured';
}

export interface AbOutcome {
  schema: typeof GATE_AB_SCHEMA;
  base: { ref: string; commit: string; methodology: number };
  head: { commit: string | null; dirty: boolean | null; methodology: number };
  rounds: number;
  /** The scenario both trees were measured in. */
  scenario?: string;
  threshold: number;
  passesTolerance: number;
  rows: AbRow[];
  failed: AbRow[];
  /** Regressions of the first measurement that the confirmation rounds did not repeat. */
  unconfirmed?: AbRow[];
  /** Transports that could not run here, and why (skipped unless --require). */
  skipped: Array<{ transport: string; reason: string }>;
  /** Transports or metrics the gate could not measure on one side (failed windows). */
  unmeasured: string[];
}

/** Per round head/base - 1, over the rounds where both sides measured; median and order-statistic interval. */
export function pairedChange(s: AbSamples, level = 0.95): Interval {
  const r: number[] = [];
  for (let i = 0; i < Math.min(s.base.length, s.head.length); i++) {
    const b = s.base[i];
    const h = s.head[i];
    if (Number.isFinite(b) && Number.isFinite(h) && b > 0) r.push(h / b - 1);
  }
  return medianInterval(r, level);
}

const finiteMedian = (xs: number[]): number => median(xs.filter((x) => Number.isFinite(x)));

/** max - min of the finite values (0 for fewer than two). */
function rangeOf(xs: number[]): number {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length < 2 ? 0 : Math.max(...f) - Math.min(...f);
}

/** Judges one transport's metric. At least `minPairs` paired rounds are needed to judge CPU. */
export function judgeAb(transport: string, metric: AbMetric, s: AbSamples, threshold: number, passesTolerance: number, minPairs = 3): AbRow {
  const base = finiteMedian(s.base);
  const head = finiteMedian(s.head);
  if (metric === 'copyEquivalents') {
    const change = pairedChange(s);
    if (change.n < minPairs) return { transport, metric, base, head, change, verdict: 'unmeasured', samples: s };
    const verdict = change.lo > 0 && change.median > threshold ? 'regression' : change.hi < 0 && change.median < -threshold ? 'improved' : 'pass';
    return { transport, metric, base, head, change, verdict, samples: s };
  }
  if (!Number.isFinite(base) || !Number.isFinite(head)) return { transport, metric, base, head, verdict: 'unmeasured', samples: s };
  const delta = head - base;
  const spread = Math.max(rangeOf(s.base), rangeOf(s.head));
  const bound = Math.max(passesTolerance, spread > 0 ? spread + passesTolerance / 5 : 0);
  return { transport, metric, base, head, delta, bound, verdict: delta > bound ? 'regression' : delta < -bound ? 'improved' : 'pass', samples: s };
}

/** Every transport's metrics judged; `samples[transport][metric]`. Passes are skipped where neither side counted copies. */
export function judgeAll(samples: Record<string, Partial<Record<AbMetric, AbSamples>>>, threshold: number, passesTolerance: number): { rows: AbRow[]; unmeasured: string[] } {
  const rows: AbRow[] = [];
  for (const [t, metrics] of Object.entries(samples)) {
    for (const m of AB_METRICS) {
      const s = metrics[m];
      if (!s) continue;
      rows.push(judgeAb(t, m, s, threshold, passesTolerance));
    }
  }
  return { rows, unmeasured: rows.filter((r) => r.verdict === 'unmeasured').map((r) => `${r.transport} ${r.metric}`) };
}

/** Keeps only the regressions the confirmation rounds repeated (same transport and metric); their rows replace the first ones. */
export function confirmAb(first: AbRow[], second: AbRow[]): { rows: AbRow[]; failed: AbRow[]; unconfirmed: AbRow[] } {
  const key = (r: AbRow): string => `${r.transport}|${r.metric}`;
  const firstFailed = new Set(first.filter((r) => r.verdict === 'regression').map(key));
  const again = new Map(second.map((r) => [key(r), r]));
  const failed = second.filter((r) => r.verdict === 'regression' && firstFailed.has(key(r)));
  const unconfirmed = first.filter((r) => r.verdict === 'regression' && again.get(key(r))?.verdict !== 'regression');
  const rows = first.map((r) => (firstFailed.has(key(r)) ? (again.get(key(r)) ?? r) : r));
  return { rows, failed, unconfirmed };
}
