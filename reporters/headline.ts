import type { CaseResult, RatioFigure, RunResult } from '../core/result';
import { fmtLevel } from './intervals';
import { isRanked } from './ranking';
import { caseGroups } from './rows';

/**
 * The headline ratios: per scenario/format/size group, how much less CPU per frame the cheapest cross-process
 * transport uses than the common baselines, e.g. "shm uses 7.0x (6.4-7.6) less CPU per frame than ws".
 * Every figure is a paired ratio from the result's `ratios` (per round a/b, then the median and its interval),
 * never the ratio of two medians; results without `ratios` (@1) get no headline ratio. In-process transports
 * are neither the reference nor a baseline (their CPU is their JS threads only).
 */

/** Baselines a reader compares against, in order of preference for the one-line headline. */
export const COMMON_BASELINES = ['ws', 'unix', 'tcp'] as const;
/** The transport the baselines are compared with when it ran; else the group's cheapest cross-process one. */
export const PREFERRED_REFERENCE = 'shm';

export interface HeadlineRatio {
  /** groupKey: 'realtime/i420/1280x720'. */
  group: string;
  /** 'realtime i420 1280x720'. */
  label: string;
  /** The cheap transport (shm). */
  reference: string;
  /** The transport it is compared with (ws). */
  baseline: string;
  /** baseline / reference, paired. */
  ratio: RatioFigure;
  /** "shm uses 7.0x (6.4-7.6) less CPU per frame than ws". */
  claim: string;
  /** "paired over 5 rounds; interval covers 93.75%". */
  how: string;
  /** `${claim} (${how})`. */
  sentence: string;
}

function findRatio(run: RunResult, group: string, a: string, b: string): RatioFigure | undefined {
  return run.ratios?.find((r) => r.group === group && r.a === a && r.b === b && r.metric === 'cpuUsPerFrame.total' && r.n > 0);
}

/** 7.04 -> "7.0", 1.023 -> "1.02", 49.86 -> "50"; lo and hi take the median's digits. */
function ratioDigits(x: number): number {
  return x < 2 ? 2 : x < 10 ? 1 : 0;
}

/** A ratio's number, `digits` decimals (default: 2 under 2, 1 under 10, else 0). */
export function fmtX(x: number, digits = ratioDigits(x)): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "7.0x (6.4-7.6)"; "7.0x" with one round. */
export function fmtRatio(r: Pick<RatioFigure, 'median' | 'lo' | 'hi' | 'n'>): string {
  const d = ratioDigits(r.median);
  return r.n >= 2 ? `${fmtX(r.median, d)}x (${fmtX(r.lo, d)}-${fmtX(r.hi, d)})` : `${fmtX(r.median, d)}x`;
}

function howPaired(r: RatioFigure): string {
  if (r.n < 2) return 'one round: no interval';
  return `paired over ${r.n} rounds; ${r.level >= 0.95 ? '95% interval' : `interval covers ${fmtLevel(r.level)}`}`;
}

/**
 * The claim for baseline/reference ("shm uses 7.0x (6.4-7.6) less CPU per frame than ws") and how it was
 * measured ("paired over 5 rounds; interval covers 93.75%"); null when the run has no paired ratio for them.
 */
export function ratioClaim(run: RunResult, group: string, baseline: string, reference: string): { ratio: RatioFigure; claim: string; how: string } | null {
  const r = findRatio(run, group, baseline, reference);
  if (!r) return null;
  if (r.n >= 2 && r.lo <= 1 && r.hi >= 1) {
    return { ratio: r, claim: `${reference} and ${baseline} use about the same CPU per frame: ${baseline}/${reference} ${fmtRatio(r)}`, how: howPaired(r) };
  }
  if (r.median < 1) {
    const inv = findRatio(run, group, reference, baseline);
    if (inv) return { ratio: r, claim: `${reference} uses ${fmtRatio(inv)} more CPU per frame than ${baseline}`, how: howPaired(inv) };
    return { ratio: r, claim: `${baseline}/${reference} CPU per frame ${fmtRatio(r)}`, how: howPaired(r) };
  }
  return { ratio: r, claim: `${reference} uses ${fmtRatio(r)} less CPU per frame than ${baseline}`, how: howPaired(r) };
}

/**
 * Who is compared in one group: the reference (shm, else the cheapest cross-process case) and the baselines
 * (ws first, then unix and tcp, most expensive first; without any of them the most expensive case).
 */
export function headlinePairs(cases: CaseResult[]): { reference: string; baselines: string[] } | null {
  const ranked = cases.filter(isRanked).sort((a, b) => a.cpuUsPerFrame.total - b.cpuUsPerFrame.total);
  if (ranked.length < 2) return null;
  const names = ranked.map((c) => c.transport);
  const reference = names.includes(PREFERRED_REFERENCE) ? PREFERRED_REFERENCE : names[0]!;
  const common = COMMON_BASELINES.filter((t) => t !== reference && names.includes(t));
  // ws first when it ran; then the other common baselines, most expensive first
  const byCost = [...common].sort((a, b) => (a === 'ws' ? -1 : b === 'ws' ? 1 : names.indexOf(b) - names.indexOf(a)));
  const baselines = byCost.length ? byCost : [names[names.length - 1]!].filter((t) => t !== reference);
  return baselines.length ? { reference, baselines } : null;
}

/**
 * Headline ratios in report order. `all`: every common baseline against the reference (Markdown, HTML);
 * otherwise one line per group, the preferred baseline (terminal).
 */
export function headlineRatios(run: RunResult, all = false): HeadlineRatio[] {
  if (!run.ratios?.length) return [];
  const out: HeadlineRatio[] = [];
  for (const [group, cases] of caseGroups(run)) {
    const pairs = headlinePairs(cases);
    if (!pairs) continue;
    const c = cases[0]!;
    const label = `${c.scenario} ${c.format} ${c.width}x${c.height}`;
    for (const baseline of all ? pairs.baselines : pairs.baselines.slice(0, 1)) {
      const s = ratioClaim(run, group, baseline, pairs.reference);
      if (s) out.push({ group, label, reference: pairs.reference, baseline, ...s, sentence: `${s.claim} (${s.how})` });
    }
  }
  return out;
}

/** One row of a ratios table: a's CPU per frame over b's, paired. */
export interface RatioRow {
  group: string;
  label: string;
  a: string;
  b: string;
  ratio: RatioFigure;
}

/**
 * Every ranked transport of each group against the group's reference (a / shm), most expensive first:
 * the ratios table of the Markdown and HTML reports. Empty for results without paired ratios.
 */
export function ratioRows(run: RunResult): RatioRow[] {
  if (!run.ratios?.length) return [];
  const out: RatioRow[] = [];
  for (const [group, cases] of caseGroups(run)) {
    const pairs = headlinePairs(cases);
    if (!pairs) continue;
    const c = cases[0]!;
    const label = `${c.scenario} ${c.format} ${c.width}x${c.height}`;
    const others = cases.filter(isRanked).sort((x, y) => y.cpuUsPerFrame.total - x.cpuUsPerFrame.total).map((x) => x.transport);
    for (const a of others) {
      const ratio = a === pairs.reference ? undefined : findRatio(run, group, a, pairs.reference);
      if (ratio) out.push({ group, label, a, b: pairs.reference, ratio });
    }
  }
  return out;
}
