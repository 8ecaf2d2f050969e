import { fbError } from '../core/errors';
import { parseResolution } from '../core/spec';
import type { CaseSpec } from '../core/case';
import type { SweepAxes } from '../core/result';

/**
 * Sweeps (docs/sweeps.md): `--resolution`, `--producers`, `--fps` and `--fragment-bytes` take lists, and
 * the run measures every combination, each as ordinary cases inside the same interleaved rounds
 * (harness/runner.ts), so drift of the machine hits every point of a sweep alike.
 *
 * An axis reaches only the cases it changes: `--fps` the paced scenarios, `--producers` the
 * multi-producer scenario, `--fragment-bytes` the WebSocket transports. A case the axis does not
 * change is planned once, not once per value.
 */

/** Transports whose frames `--fragment-bytes` splits. */
export const FRAGMENTING_TRANSPORTS = ['ws', 'ws-nomask'];

type Planned = Omit<CaseSpec, 'runDir'>;

/** A list option's values: a comma string, a number, or already a list; duplicates removed, order kept. */
export function listValues(name: string, v: unknown): string[] {
  const items = Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : String(v).split(',');
  const out = [...new Set(items.map((s) => s.trim()).filter(Boolean))];
  if (out.length === 0) throw fbError('FB_ERR_USAGE', `--${name} needs a value`);
  return out;
}

/** A list option of numbers: every item a finite number, else FB_ERR_BAD_NUMBER naming it. */
export function numberList(name: string, v: unknown): number[] {
  return [...new Set(listValues(name, v).map((s) => {
    const n = Number(s);
    if (s === '' || !Number.isFinite(n)) throw fbError('FB_ERR_BAD_NUMBER', `--${name} needs numbers, got '${s}'`);
    return n;
  }))];
}

/** The axes of a run from its option values (each a list, a comma string or a single value). */
export function parseAxes(v: { resolution: unknown; fps: unknown; producers: unknown; fragmentBytes?: unknown }): SweepAxes {
  const resolutions = listValues('resolution', v.resolution);
  // two names for one size ('1080p', '1920x1080') are one point
  const seen = new Set<string>();
  const uniq = resolutions.filter((r) => {
    const [w, h] = parseResolution(r);
    const k = `${w}x${h}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return {
    resolutions: uniq,
    fps: numberList('fps', v.fps),
    producers: numberList('producers', v.producers),
    fragmentBytes: v.fragmentBytes === undefined ? [] : numberList('fragment-bytes', v.fragmentBytes),
  };
}

/** Whether any axis has more than one value. */
export function isSweep(a: SweepAxes | undefined): a is SweepAxes {
  return !!a && (a.resolutions.length > 1 || a.fps.length > 1 || a.producers.length > 1 || a.fragmentBytes.length > 1);
}

/** One combination of axis values. */
export interface SweepPointSpec {
  resolution: string;
  fps: number;
  producers: number;
  /** null: the run's own fragmentBytes (no fragment axis). */
  fragmentBytes: number | null;
}

/** Every combination, resolution outermost, fragment size innermost. */
export function combinations(a: SweepAxes): SweepPointSpec[] {
  const frags: Array<number | null> = a.fragmentBytes.length ? a.fragmentBytes : [null];
  const out: SweepPointSpec[] = [];
  for (const resolution of a.resolutions) {
    for (const producers of a.producers) {
      for (const fps of a.fps) {
        for (const fragmentBytes of frags) out.push({ resolution, fps, producers, fragmentBytes });
      }
    }
  }
  return out;
}

/** The settings a planner reads, for one combination. */
export interface PlanInput {
  resolution: string;
  width: number;
  height: number;
  fps: number;
  producers: number;
  transportOptions: Record<string, Record<string, unknown>>;
}

/** `s` at one combination: its size, fps, producers, and the WebSocket transports' fragment size. */
export function atPoint<S extends PlanInput>(s: S, p: SweepPointSpec): S {
  const [width, height] = parseResolution(p.resolution);
  return { ...s, resolution: p.resolution, width, height, fps: p.fps, producers: p.producers, transportOptions: withFragment(s.transportOptions, p.fragmentBytes) };
}

/** Transport options with the WebSocket transports' fragmentBytes set (unchanged for null). */
export function withFragment(opts: Record<string, Record<string, unknown>>, fragmentBytes: number | null): Record<string, Record<string, unknown>> {
  const out = structuredClone(opts);
  if (fragmentBytes === null) return out;
  for (const t of FRAGMENTING_TRANSPORTS) out[t] = { ...out[t], fragmentBytes };
  return out;
}

/** What makes two planned cases the same measurement (the axes a case ignores left out). */
function identity(c: Planned): string {
  const fps = c.pacing === 'fps' ? c.fps : '-';
  const frag = FRAGMENTING_TRANSPORTS.includes(c.transport) ? String(c.transportOptions.fragmentBytes ?? '') : '-';
  return `${c.transport}|${c.scenario}|${c.format}|${JSON.stringify(c.sizes)}|${fps}|${c.producers}|${frag}`;
}

/**
 * The run's cases over every combination of its axes: `planOne` plans one combination (the runner's
 * scenario x format x transport matrix); cases an axis does not change are kept once; ids are renumbered.
 */
export function planSweep<S extends PlanInput & { axes?: SweepAxes }>(s: S, planOne: (s: S) => Planned[]): Planned[] {
  if (!isSweep(s.axes)) return planOne(s);
  const seen = new Set<string>();
  const out: Planned[] = [];
  for (const p of combinations(s.axes)) {
    for (const c of planOne(atPoint(s, p))) {
      const k = identity(c);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ ...c, caseId: String(out.length + 1) });
    }
  }
  return out;
}

/** The sweep fields a case's result carries: the swept values that are not already in the result. */
export function sweepFields(c: Planned, axes: SweepAxes | undefined): { targetFps?: number; fragmentBytes?: number } {
  if (!isSweep(axes)) return {};
  const out: { targetFps?: number; fragmentBytes?: number } = {};
  if (axes.fps.length > 1 && c.pacing === 'fps') out.targetFps = c.fps;
  if (axes.fragmentBytes.length > 1 && FRAGMENTING_TRANSPORTS.includes(c.transport)) out.fragmentBytes = Number(c.transportOptions.fragmentBytes);
  return out;
}

/**
 * Validates a sweep before anything runs: `resolve` (the runner's own validation) is called at every
 * value of every axis, so a bad value fails with the same code and message a single value would.
 */
export function checkAxes<R extends { resolution: string; fps: number; producers: number; source: string; transportOptions: Record<string, Record<string, unknown>> }>(
  raw: R, axes: SweepAxes, resolve: (r: R) => unknown,
): void {
  if (!isSweep(axes)) return;
  if (raw.source !== 'synthetic') throw fbError('FB_ERR_USAGE', `sweeps (a list in --resolution, --fps, --producers or --fragment-bytes) run with --source synthetic, not '${raw.source}'`);
  for (const resolution of axes.resolutions) resolve({ ...raw, resolution });
  for (const fps of axes.fps) resolve({ ...raw, fps });
  for (const producers of axes.producers) resolve({ ...raw, producers });
  for (const f of axes.fragmentBytes) resolve({ ...raw, transportOptions: withFragment(raw.transportOptions, f) });
}

/**
 * Paired ratios within each sweep point: `pair` (measure/aggregate.ts pairedCpuRatios) pairs the cases of a
 * scenario/format/size group, so cases that differ in fps, producers or fragment size are split apart first,
 * and their group named with the point (`realtime/i420/1920x1080@60fps`). Not a sweep: `pair(results)`.
 */
export function ratiosBySweepPoint<C extends { producers: number; targetFps?: number; fragmentBytes?: number }, R extends { group: string }>(
  results: C[], axes: SweepAxes | undefined, pair: (cs: C[]) => R[],
): R[] {
  if (!isSweep(axes)) return pair(results);
  const parts = new Map<string, C[]>();
  for (const c of results) {
    const tag = [axes.producers.length > 1 ? `${c.producers}p` : '', c.targetFps !== undefined ? `${c.targetFps}fps` : '',
      c.fragmentBytes !== undefined ? `frag${c.fragmentBytes}` : ''].filter(Boolean).join(',');
    parts.set(tag, [...(parts.get(tag) ?? []), c]);
  }
  return [...parts].flatMap(([tag, cs]) => pair(cs).map((r) => (tag ? { ...r, group: `${r.group}@${tag}` } : r)));
}
