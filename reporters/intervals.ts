import type { CaseResult, RunResult } from '../core/result';
import { relativeSpread, type Interval } from '../core/robust-stats';
import { fmtNum } from './rows';

/**
 * How reporters show a figure's spread over rounds (results@2): terminal `12,863 ±6%`, Markdown and HTML
 * `12,863 (12,100-13,400)`, and the one sentence that says what the interval is. Results@1 (one window per
 * case) have no intervals: every helper here then returns '' and the figure prints alone.
 */

/** The interval of the figure at `path` ('cpuUsPerFrame.total'), if the case has one over at least 2 rounds. */
export function intervalOf(c: CaseResult, path: string): Interval | undefined {
  const iv = c.intervals?.[path];
  return iv && iv.n >= 2 && Number.isFinite(iv.lo) && Number.isFinite(iv.hi) ? iv : undefined;
}

/** `±6%` (the larger side of the interval relative to its median); `±0.4%` under 1%; '' for n < 2. */
export function fmtSpread(iv: Interval | undefined): string {
  if (!iv) return '';
  const s = relativeSpread(iv) * 100;
  if (!Number.isFinite(s)) return '';
  return `±${s < 1 ? s.toFixed(1) : Math.round(s).toString()}%`;
}

/** `value ±6%` for the terminal (the spread padded to 4 so a column's numbers line up); the value alone without an interval. */
export function withSpread(value: string, iv: Interval | undefined): string {
  const s = fmtSpread(iv);
  return s ? `${value} ${s.padStart(4)}` : value;
}

/** A case's figure at `path` and its range over rounds, lo and hi with the value's decimals: `12,863` and `12,100-13,400` ('' without an interval). */
export function figureParts(c: CaseResult, path: string, value: number, digits?: number): { value: string; range: string } {
  const a = Math.abs(value);
  const d = digits ?? (a >= 100 ? 0 : a >= 10 ? 1 : 2);
  const iv = intervalOf(c, path);
  return { value: fmtNum(value, d), range: iv ? `${fmtNum(iv.lo, d)}-${fmtNum(iv.hi, d)}` : '' };
}

/** `12,863 (12,100-13,400)` for Markdown; the value alone without an interval. */
export function withRange(c: CaseResult, path: string, value: number, digits?: number): string {
  const p = figureParts(c, path, value, digits);
  return p.range ? `${p.value} (${p.range})` : p.value;
}

/** 0.9375 -> "93.75%", 0.75 -> "75%", 0.96875 -> "96.88%". */
export function fmtLevel(level: number): string {
  return `${+(level * 100).toFixed(2)}%`;
}

/** The widest round count and its achieved coverage among these cases' CPU intervals; null when none has one. */
export function roundsOf(cases: CaseResult[]): { n: number; level: number } | null {
  let best: Interval | undefined;
  for (const c of cases) {
    const iv = intervalOf(c, 'cpuUsPerFrame.total');
    if (iv && (!best || iv.n > best.n)) best = iv;
  }
  return best ? { n: best.n, level: best.level } : null;
}

/**
 * What the interval is, in one sentence: "95% order-statistic interval of the median over 5 rounds; with
 * 5 rounds it covers 93.75%" (too few rounds for 95%: the interval is [min, max], and says what it covers).
 */
export function intervalMethod(n: number, level: number): string {
  const head = `95% order-statistic interval of the median over ${n} rounds`;
  if (Math.abs(level - 0.95) < 1e-9) return head;
  return level < 0.95 ? `${head}; with ${n} rounds it covers ${fmtLevel(level)}` : `${head} (it covers ${fmtLevel(level)})`;
}

/** Noisy rounds of these cases: "2 noisy rounds (ws 1, shm 1)", '' when none. */
export function noisyText(cases: CaseResult[]): string {
  const noisy = cases.filter((c) => (c.noisyRounds ?? 0) > 0);
  if (noisy.length === 0) return '';
  const total = noisy.reduce((a, c) => a + (c.noisyRounds ?? 0), 0);
  const reasons = [...new Set(noisy.flatMap((c) => (c.rounds ?? []).filter((r) => r.noise?.noisy && r.noise.reason).map((r) => r.noise!.reason!)))];
  return `${total} noisy round${total === 1 ? '' : 's'} (${noisy.map((c) => `${c.transport} ${c.noisyRounds}`).join(', ')}; flagged, kept)` +
    (reasons.length ? `: ${reasons.join('; ')}` : '');
}

/** The footer sentence of a table of cases: rounds, what `shown` (± or ranges) means, noisy rounds; '' for results@1. */
export function roundsFooter(cases: CaseResult[], shown: string): string {
  const r = roundsOf(cases);
  if (!r) return '';
  const noisy = noisyText(cases);
  return `${r.n} rounds; ${shown}: ${intervalMethod(r.n, r.level)}` + (noisy ? `; ${noisy}` : '');
}

/** Results measured once per case (@1, or one round): say the figures have no spread. */
export function hasIntervals(run: RunResult): boolean {
  return run.results.some((c) => intervalOf(c, 'cpuUsPerFrame.total') !== undefined);
}
