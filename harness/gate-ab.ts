import type { AbMetric, AbSamples } from '../core/gate-ab';
import { payloadBytesFor } from '../core/frame';
import type { CaseResult } from '../core/result';
import { calibrate } from '../measure/calibrate';
import { copyCountLibIn, preloadWith } from '../measure/copycount';
import { memcpyUsFor } from '../measure/figures';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { runCase, type ProcessHooks } from './coordinator';
import { withMalloc } from './malloc-env';
import { pairingKey, planCases, roundOrder, type RunSettings } from './runner';

/** One side of the A/B: a label and the child module its processes run (undefined: this tree's). */
export interface AbTree {
  label: 'base' | 'head';
  childEntry?: string;
}

export interface AbProgress {
  round: number;
  rounds: number;
  transport: string;
  side: 'base' | 'head';
}

/**
 * A tree's process hooks: its own child module and, for copy accounting, its own interposer in place of
 * this tree's. A base tree's child that spawns a native peer appends its own interposer to the
 * LD_PRELOAD it was given; were that this tree's, the peer would load two and count every copy twice
 * (the A/B read 2 producer passes for shm-c's 1). Exported for tests.
 */
export function treeHooks(hooks: ProcessHooks | undefined, t: AbTree): ProcessHooks | undefined {
  const entry = t.childEntry;
  if (!entry) return hooks;
  const lib = copyCountLibIn(path.resolve(path.dirname(entry), '..', '..')); // entry: <tree>/dist/harness/child.js
  return {
    envFor(label, spec) {
      const p = hooks ? hooks.envFor(label, spec) : { env: {} };
      const env = { ...p.env };
      if (env.LD_PRELOAD && existsSync(lib)) env.LD_PRELOAD = preloadWith(env.LD_PRELOAD, lib);
      return { ...p, env, entry };
    },
  };
}

/** Every window of the A/B, per transport and side, in round order. */
export type AbWindows = Record<string, { base: CaseResult[]; head: CaseResult[] }>;

/**
 * Measures the base and head trees in the same interleaved rounds on this machine. Each round
 * calibrates memcpy once (both sides of a pair share that denominator), then visits every
 * transport in a rotated order and, for each, runs one window of each tree back to back, the
 * tree that goes first alternating by round and transport (a pair with a failed window is run once
 * more). The coordinator (this tree) computes
 * every figure; only the producer and consumer processes come from each tree. Both trees' processes
 * get the same allocator settings (`s.malloc`), as in `bench run`.
 */
export function measureAb(s: RunSettings, base: AbTree, head: AbTree, hooks: ProcessHooks | undefined, onWindow?: (p: AbProgress) => void): Promise<AbWindows> {
  return withMalloc(s.malloc, () => measurePairs(s, base, head, hooks, onWindow));
}

async function measurePairs(s: RunSettings, base: AbTree, head: AbTree, hooks: ProcessHooks | undefined, onWindow?: (p: AbProgress) => void): Promise<AbWindows> {
  const cases = planCases(s);
  const sizes = new Set<number>();
  for (const c of cases) for (const [w, h] of c.sizes) sizes.add(payloadBytesFor(c.format, w, h));
  const out: AbWindows = {};
  for (const c of cases) out[c.transport] = { base: [], head: [] };
  const hooksFor = (t: AbTree): ProcessHooks | undefined => treeHooks(hooks, t);
  for (let r = 0; r < s.rounds; r++) {
    const calibration = await calibrate([...sizes]);
    for (const i of roundOrder(cases.map(pairingKey), s.rounds, r)) {
      const c = cases[i];
      const order = (r + i) % 2 === 0 ? [base, head] : [head, base];
      // a pair with a failed window (a neighbour's burst starved it) is measured once more, both sides, to stay paired
      for (let attempt = 0; attempt < 2; attempt++) {
        const pair: Partial<Record<AbTree['label'], CaseResult>> = {};
        for (const t of order) {
          onWindow?.({ round: r, rounds: s.rounds, transport: c.transport, side: t.label });
          pair[t.label] = await runCase(c, { memcpyUs: memcpyUsFor(c, calibration.memcpyUsByFrameBytes), hooks: hooksFor(t) });
        }
        const ok = pair.base?.status === 'ok' && pair.head?.status === 'ok';
        if (ok || attempt === 1) {
          out[c.transport].base.push(pair.base as CaseResult);
          out[c.transport].head.push(pair.head as CaseResult);
          break;
        }
      }
    }
  }
  return out;
}

function metricOf(c: CaseResult, m: AbMetric): number {
  if (c.status !== 'ok') return NaN;
  if (m === 'copyEquivalents') return c.copyEquivalents;
  if (!c.copies) return NaN;
  return m === 'passes.producer' ? c.copies.framePasses.producer : c.copies.framePasses.consumer;
}

/** Per transport and metric, the per-round values of each side (NaN for a failed window). */
export function abSamples(w: AbWindows, metrics: AbMetric[]): Record<string, Partial<Record<AbMetric, AbSamples>>> {
  const out: Record<string, Partial<Record<AbMetric, AbSamples>>> = {};
  for (const [t, sides] of Object.entries(w)) {
    out[t] = {};
    for (const m of metrics) {
      const base = sides.base.map((c) => metricOf(c, m));
      const head = sides.head.map((c) => metricOf(c, m));
      const counted = m === 'copyEquivalents' || [...base, ...head].some((x) => Number.isFinite(x));
      if (counted) out[t][m] = { base, head };
    }
  }
  return out;
}

/** Failed windows, one line each ('unix head round 2: FB_ERR_TIMEOUT ...'). */
export function failedWindows(w: AbWindows): string[] {
  const out: string[] = [];
  for (const [t, sides] of Object.entries(w)) {
    for (const side of ['base', 'head'] as const) {
      sides[side].forEach((c, r) => {
        if (c.status !== 'ok') out.push(`${t} ${side} round ${r + 1}: ${c.status} ${c.error ?? ''}`.trim());
      });
    }
  }
  return out;
}

