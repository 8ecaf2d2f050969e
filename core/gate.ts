import type { CaseResult, HostInfo, RunResult } from './result';
import { summarize, type Summary } from './robust-stats';

/**
 * The CPU-per-frame regression gate. Two kinds of metric:
 * - copy passes per frame per side: near-deterministic, so any increase beyond a small
 *   absolute tolerance fails;
 * - total CPU per frame in copy-equivalents (calibrated in the same run, so a slower or
 *   busier machine moves it less): fails only when the median of the repeats rose by
 *   more than the relative threshold AND by more than the noise seen across repeats
 *   (NOISE_K x 1.4826 x the larger relative MAD of baseline and current, at the baseline's
 *   median: a robust 3-sigma).
 */
export const GATE_BASELINE_SCHEMA = 'framebench/gate-baseline@1';
export const NOISE_K = 3;
/** The schema id of `bench gate --json` (and reports/gate/gate.json) against a baseline. */
export const GATE_OUTCOME_SCHEMA = 'framebench/gate-outcome@1';

export interface GateSettings {
  transports: string[];
  scenario: string;
  format: 'i420' | 'rgba';
  resolution: string;
  fps: number;
  durationS: number;
  warmupS: number;
  repeats: number;
  /** Relative CPU threshold (0.10 = 10%). */
  threshold: number;
  /** Absolute tolerance on passes per frame per side. */
  passesTolerance: number;
  /**
   * Re-measure the transports that failed and fail only on regressions seen both times:
   * a true regression repeats, a burst of noise from a neighbour rarely does twice.
   */
  confirm: boolean;
  /** Paired rounds of `bench gate --against <ref>` (both trees measured in each). */
  againstRounds: number;
  /**
   * The scenario `bench gate --against` measures (the baseline gate measures `scenario`). Saturate
   * by default: its CPU per frame is mostly the transport's own per-frame work, averaged over
   * hundreds of frames per window, while a realtime frame's CPU is mostly wake-ups whose cost
   * follows the host (docs/gate.md has the figures).
   */
  againstScenario: string;
  /** The case processes' allocator, as `bench run --malloc` (harness/malloc-env.ts). */
  malloc: 'steady' | 'default';
  /** Warm-up runs on until the processes stop faulting in fresh memory, at most this (as `bench run --warmup-max`). */
  warmupMaxS: number;
}

export const DEFAULT_GATE: GateSettings = {
  transports: ['all'],
  scenario: 'realtime',
  format: 'i420',
  resolution: '1080p',
  fps: 30,
  durationS: 1.5,
  warmupS: 0.5,
  repeats: 4,
  threshold: 0.1,
  passesTolerance: 0.25,
  confirm: true,
  againstRounds: 10,
  againstScenario: 'saturate',
  malloc: 'steady',
  warmupMaxS: 3,
};

export type GateMetric = 'copyEquivalents' | 'passes.producer' | 'passes.consumer';
export const GATE_METRICS: GateMetric[] = ['copyEquivalents', 'passes.producer', 'passes.consumer'];

export interface GateBaseline {
  schema: typeof GATE_BASELINE_SCHEMA;
  createdAt: string;
  host: HostInfo;
  settings: GateSettings;
  metrics: Record<string, Partial<Record<GateMetric, Summary>>>;
}

function metricOf(r: CaseResult, m: GateMetric): number | null {
  if (r.status !== 'ok') return null;
  if (m === 'copyEquivalents') return r.copyEquivalents;
  if (!r.copies) return null;
  return m === 'passes.producer' ? r.copies.framePasses.producer : r.copies.framePasses.consumer;
}

/** Per transport, each metric's summary over the repeated runs. */
export function collectMetrics(runs: RunResult[]): GateBaseline['metrics'] {
  const out: GateBaseline['metrics'] = {};
  const transports = [...new Set(runs.flatMap((r) => r.results.map((c) => c.transport)))];
  for (const t of transports) {
    out[t] = {};
    for (const m of GATE_METRICS) {
      const xs = runs.flatMap((r) => r.results.filter((c) => c.transport === t)).map((c) => metricOf(c, m)).filter((x): x is number => x !== null);
      if (xs.length > 0) (out[t] as Record<string, Summary>)[m] = summarize(xs);
    }
  }
  return out;
}

export interface GateRow {
  transport: string;
  metric: GateMetric;
  baseline: number;
  current: number;
  change: number;
  /** The bound the change had to exceed (absolute units of the metric). */
  bound: number;
  verdict: 'pass' | 'regression' | 'improved' | 'new' | 'missing';
}

export interface GateOutcome {
  rows: GateRow[];
  failed: GateRow[];
  /** Regressions of the first measurement that the confirmation run did not repeat. */
  unconfirmed?: GateRow[];
  /** Failed runs or cases: the gate could not measure. */
  unmeasured: string[];
}

export function compareToBaseline(base: GateBaseline, current: GateBaseline['metrics'], s: GateSettings): GateOutcome {
  const rows: GateRow[] = [];
  const unmeasured: string[] = [];
  for (const [t, metrics] of Object.entries(base.metrics)) {
    for (const m of GATE_METRICS) {
      const b = metrics[m];
      if (!b) continue;
      const c = current[t]?.[m];
      if (!c) {
        unmeasured.push(`${t} ${m}`);
        rows.push({ transport: t, metric: m, baseline: b.median, current: NaN, change: NaN, bound: NaN, verdict: 'missing' });
        continue;
      }
      const change = c.median - b.median;
      let bound: number;
      if (m === 'copyEquivalents') {
        // the noise is multiplicative (the memcpy calibration divides every figure, a busier host
        // stretches every µs): each side's spread is taken relative to its own median and applied at
        // the baseline's level, so a regressed run's larger absolute spread does not widen its own band
        const rel = (x: { median: number; mad: number }): number => (x.median > 0 ? x.mad / x.median : 0);
        const noise = NOISE_K * 1.4826 * Math.max(rel(b), rel(c)) * b.median;
        bound = Math.max(s.threshold * b.median, noise);
      } else {
        // passes are an exact count where the copies are; where they depend on how the kernel
        // splits reads (ws: a fragment that spans two reads is copied to be joined), the baseline's
        // own samples already showed the spread: a median within it is no regression
        bound = Math.max(s.passesTolerance, (Number.isFinite(b.max - b.min) ? b.max - b.min : 0) + s.passesTolerance / 5);
      }
      const verdict = change > bound ? 'regression' : change < -bound ? 'improved' : 'pass';
      rows.push({ transport: t, metric: m, baseline: b.median, current: c.median, change, bound, verdict });
    }
  }
  for (const t of Object.keys(current)) {
    if (!base.metrics[t]) rows.push({ transport: t, metric: 'copyEquivalents', baseline: NaN, current: current[t].copyEquivalents?.median ?? NaN, change: NaN, bound: NaN, verdict: 'new' });
  }
  return { rows, failed: rows.filter((r) => r.verdict === 'regression'), unmeasured };
}

/**
 * The baseline without the transports that cannot run on this machine (a missing redis-server):
 * the gate reports them as skipped and gates what it can, instead of calling the whole run unmeasured.
 */
export function withoutSkipped(base: GateBaseline, skipped: Array<{ transport: string }>): GateBaseline {
  const gone = new Set(skipped.map((s) => s.transport));
  return { ...base, metrics: Object.fromEntries(Object.entries(base.metrics).filter(([t]) => !gone.has(t))) };
}

/** Most samples a baseline keeps per metric (the newest). */
export const MAX_BASELINE_SAMPLES = 24;

/**
 * Adds a new measurement's samples to a baseline's. A baseline recorded over several
 * sessions has a spread that includes run-to-run drift (timer wake-up costs, a neighbour's
 * load), which repeats inside one session do not show.
 */
export function appendSamples(base: GateBaseline['metrics'], add: GateBaseline['metrics']): GateBaseline['metrics'] {
  const out: GateBaseline['metrics'] = {};
  for (const t of new Set([...Object.keys(base), ...Object.keys(add)])) {
    out[t] = {};
    for (const m of GATE_METRICS) {
      const xs = [...(base[t]?.[m]?.samples ?? []), ...(add[t]?.[m]?.samples ?? [])].slice(-MAX_BASELINE_SAMPLES);
      if (xs.length) (out[t] as Record<string, Summary>)[m] = summarize(xs);
    }
  }
  return out;
}

/** Keeps only the regressions that the confirmation run repeated (same transport and metric). */
export function confirmOutcome(first: GateOutcome, second: GateOutcome): GateOutcome {
  const again = new Set(second.failed.map((r) => `${r.transport}|${r.metric}`));
  const confirmed = second.failed.filter((r) => first.failed.some((f) => f.transport === r.transport && f.metric === r.metric));
  const unconfirmed = first.failed.filter((r) => !again.has(`${r.transport}|${r.metric}`));
  const rows = first.rows.map((r) => second.rows.find((x) => x.transport === r.transport && x.metric === r.metric && r.verdict === 'regression') ?? r);
  return { rows, failed: confirmed, unconfirmed, unmeasured: [...first.unmeasured, ...second.unmeasured] };
}
