import { bootstrapPlan, crossing, fitLine, slopeSpread, withoutDraws, type BootstrapPlan, type FitPoint, type FitWithDraws, type LineFit } from './fit';
import { medianInterval } from './robust-stats';
import type { CaseResult, RunResult } from './result';

/**
 * What a sweep says (docs/sweeps.md), from a run's cases and their rounds:
 * - points: every case's CPU per frame (per side), frames/s, with intervals over rounds;
 * - size laws: CPU per frame = fixed + perByte × frame bytes, per transport and side, for every series of
 *   cases that differ only in frame size (core/fit.ts: weighted fit, bootstrap over rounds, residual check);
 * - crossings: for each pair of transports in a series, the frame size where their total lines cross;
 * - fps laws: CPU per second = idle + perFrame × fps, for series that differ only in --fps.
 * Every fit of a run is drawn with one bootstrap plan (the same rounds), so fits are paired.
 */

export const SIDES = ['total', 'producer', 'consumer'] as const;
export type Side = (typeof SIDES)[number];

export const MIB = 1024 * 1024;

/** A median over rounds with its interval (95% order statistics, or [min, max] with few rounds). */
export interface Band {
  median: number;
  lo: number;
  hi: number;
}

export interface SweepPoint {
  transport: string;
  scenario: string;
  format: string;
  width: number;
  height: number;
  frameBytes: number;
  producers: number;
  targetFps?: number;
  fragmentBytes?: number;
  inProcess?: boolean;
  status: string;
  cpuUsPerFrame: Record<Side, Band>;
  /** Frames the consumer completed per second. */
  fps: Band;
}

/** What a series holds fixed: everything but the swept x (and the transport). */
export interface SeriesKey {
  scenario: string;
  format: string;
  producers: number;
  targetFps?: number;
  fragmentBytes?: number;
  /** Fps laws: the frame size held fixed. */
  frameBytes?: number;
}

export interface SizeLaw extends SeriesKey {
  transport: string;
  side: Side;
  /** x: pixel bytes per frame; y: CPU µs per frame. */
  fit: LineFit;
  /** Per-byte term as µs per MiB of frame, and its interval. */
  perMiBUs: number;
  perMiBIv: [number, number];
  /** Per-byte term in copy-equivalents: perMiBUs / one calibrated memcpy of a MiB (1 = costs one memcpy of the bytes). */
  perByteCopyEq: number;
  perByteCopyEqIv: [number, number];
  /** Fixed term as the MiB one calibrated memcpy moves in that time. */
  fixedCopyEqMiB: number;
  /** Half-width of the per-byte interval relative to it (0.08 = ±8%). */
  perByteSpread: number;
  /** Smallest and largest frame bytes measured. */
  bytesRange: [number, number];
}

export interface SweepCrossing extends SeriesKey {
  a: string;
  b: string;
  /** Frame bytes where a and b cost the same CPU per frame (total). */
  bytes: number;
  bytesIv: [number, number];
  /** Share of paired bootstrap draws in which the lines cross at a positive size. */
  crossShare: number;
  /** The transport that is cheaper below the crossing (or everywhere when there is none). */
  cheaperBelow: string;
  inRange: boolean;
  sentence: string;
}

export interface FpsLaw extends SeriesKey {
  transport: string;
  /** x: target fps; y: CPU µs per second (total). */
  fit: LineFit;
  idleUsPerSecond: number;
  idleIv: [number, number];
  perFrameUs: number;
  perFrameIv: [number, number];
}

export interface SweepSummary {
  method: string;
  /** One calibrated cache-cold memcpy of a MiB, µs (from the run's calibration, fitted over its sizes). */
  memcpyUsPerMiB: number;
  points: SweepPoint[];
  sizeLaws: SizeLaw[];
  crossings: SweepCrossing[];
  fpsLaws: FpsLaw[];
}

const SIZE_METHOD = 'weighted least squares (weights 1/spread² over rounds); 95% intervals from a bootstrap over rounds ' +
  '(2000 draws of the rounds, every point and every transport drawn with the same rounds); a fit is linear when the line passes through every point\'s interval over rounds';

function band(xs: number[]): Band {
  const iv = medianInterval(xs);
  return { median: iv.median, lo: iv.lo, hi: iv.hi };
}

function sideOf(cpu: { producer: number; consumer: number; total: number }, side: Side): number {
  return cpu[side];
}

/** Per-round values of one case's figure; NaN for failed rounds (round order kept). */
function perRound(c: CaseResult, f: (r: NonNullable<CaseResult['rounds']>[number]) => number): number[] {
  if (!c.rounds) return c.status === 'ok' ? [f({ round: 0, status: 'ok', cpuUsPerFrame: c.cpuUsPerFrame, copyEquivalents: c.copyEquivalents, fps: c.fps, latencyUs: { p50: 0, p99: 0, count: 0 }, frames: 0 })] : [];
  return c.rounds.map((r) => (r.status === 'ok' ? f(r) : NaN));
}

function point(c: CaseResult): SweepPoint {
  const cpu = {} as Record<Side, Band>;
  for (const s of SIDES) cpu[s] = band(perRound(c, (r) => sideOf(r.cpuUsPerFrame, s)));
  return {
    transport: c.transport, scenario: c.scenario, format: c.format, width: c.width, height: c.height, frameBytes: c.frameBytes,
    producers: c.producers,
    ...(c.targetFps !== undefined ? { targetFps: c.targetFps } : {}),
    ...(c.fragmentBytes !== undefined ? { fragmentBytes: c.fragmentBytes } : {}),
    ...(c.inProcess ? { inProcess: true } : {}),
    status: c.status, cpuUsPerFrame: cpu, fps: band(perRound(c, (r) => r.fps)),
  };
}

function seriesKey(c: CaseResult, hold: 'size' | 'fps'): SeriesKey {
  return {
    scenario: c.scenario, format: c.format, producers: c.producers,
    ...(hold === 'size' && c.targetFps !== undefined ? { targetFps: c.targetFps } : {}),
    ...(c.fragmentBytes !== undefined ? { fragmentBytes: c.fragmentBytes } : {}),
    ...(hold === 'fps' ? { frameBytes: c.frameBytes } : {}),
  };
}

/** One string per series (what it holds fixed). */
export function seriesId(k: SeriesKey): string {
  return JSON.stringify([k.scenario, k.format, k.producers, k.targetFps ?? null, k.fragmentBytes ?? null, k.frameBytes ?? null]);
}

/** 'realtime/i420' plus what else is held: '4 producers', '60 fps', 'fragments 65536 B', a size. */
export function seriesLabel(k: SeriesKey): string {
  return [`${k.scenario}/${k.format}`, k.producers > 1 ? `${k.producers} producers` : '', k.targetFps !== undefined ? `${k.targetFps} fps` : '',
    k.fragmentBytes !== undefined ? `fragments ${k.fragmentBytes} B` : '', k.frameBytes !== undefined ? `${k.frameBytes} B/frame` : '']
    .filter(Boolean).join(', ');
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

/** One memcpy of a MiB from the calibration: a line over its frame sizes, else bytes/µs of the one size. */
export function memcpyUsPerMiB(run: RunResult): number {
  const entries = Object.entries(run.calibration.memcpyUsByFrameBytes ?? {}).map(([b, us]) => [Number(b), us] as const).filter(([b, us]) => b > 0 && us > 0);
  if (entries.length >= 2) {
    const f = fitLine(entries.map(([b, us]) => ({ x: b, ys: [us] })), []);
    if (f && f.slope > 0) return f.slope * MIB;
  }
  if (entries.length >= 1) {
    const [b, us] = entries.reduce((p, q) => (q[0] > p[0] ? q : p));
    return (us / b) * MIB;
  }
  return NaN;
}

/** Cases a law may use: ok (in some round), one fixed size per frame, cross-process or not. */
function usable(c: CaseResult): boolean {
  return c.scenario !== 'variable-size' && c.frameBytes > 0 && (c.status === 'ok' || (c.rounds ?? []).some((r) => r.status === 'ok'));
}

function sizeLaws(run: RunResult, plan: BootstrapPlan, memMiB: number): { laws: SizeLaw[]; draws: Map<SizeLaw, FitWithDraws> } {
  const laws: SizeLaw[] = [];
  const draws = new Map<SizeLaw, FitWithDraws>();
  const cases = run.results.filter(usable);
  for (const group of groupBy(cases, (c) => `${c.transport}|${seriesId(seriesKey(c, 'size'))}`).values()) {
    if (new Set(group.map((c) => c.frameBytes)).size < 2) continue;
    for (const side of SIDES) {
      const pts: FitPoint[] = group.map((c) => ({ x: c.frameBytes, ys: perRound(c, (r) => sideOf(r.cpuUsPerFrame, side)) }));
      const f = fitLine(pts, plan);
      if (!f) continue;
      const xs = group.map((c) => c.frameBytes);
      const law: SizeLaw = {
        transport: group[0].transport, ...seriesKey(group[0], 'size'), side, fit: withoutDraws(f),
        perMiBUs: f.slope * MIB, perMiBIv: [f.slopeIv[0] * MIB, f.slopeIv[1] * MIB],
        perByteCopyEq: (f.slope * MIB) / memMiB, perByteCopyEqIv: [(f.slopeIv[0] * MIB) / memMiB, (f.slopeIv[1] * MIB) / memMiB],
        fixedCopyEqMiB: f.fixed / memMiB, perByteSpread: slopeSpread(f), bytesRange: [Math.min(...xs), Math.max(...xs)],
      };
      laws.push(law);
      draws.set(law, f);
    }
  }
  return { laws, draws };
}

function fmtKiB(b: number): string {
  if (!Number.isFinite(b)) return '∞';
  return b >= 10 * MIB ? `${(b / MIB).toFixed(0)} MiB` : b >= MIB ? `${(b / MIB).toFixed(1)} MiB` : `${Math.round(b / 1024).toLocaleString('en-US')} KiB`;
}

function crossings(laws: SizeLaw[], draws: Map<SizeLaw, FitWithDraws>): SweepCrossing[] {
  const out: SweepCrossing[] = [];
  const totals = laws.filter((l) => l.side === 'total');
  for (const group of groupBy(totals, seriesId).values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = group[i];
        const b = group[j];
        const range: [number, number] = [Math.min(a.bytesRange[0], b.bytesRange[0]), Math.max(a.bytesRange[1], b.bytesRange[1])];
        const x = crossing(draws.get(a)!, draws.get(b)!, range);
        const below = x.cheaperBelow === 'a' ? a.transport : b.transport;
        const above = below === a.transport ? b.transport : a.transport;
        const key: SeriesKey = { scenario: a.scenario, format: a.format, producers: a.producers, ...(a.targetFps !== undefined ? { targetFps: a.targetFps } : {}), ...(a.fragmentBytes !== undefined ? { fragmentBytes: a.fragmentBytes } : {}) };
        const crosses = Number.isFinite(x.x) && x.x > 0 && x.crossShare >= 0.5;
        const iv = Number.isFinite(x.xIv[0]) ? ` (95%: ${fmtKiB(x.xIv[0])} to ${fmtKiB(x.xIv[1])})` : '';
        const sentence = crosses
          ? `below ~${fmtKiB(x.x)} per frame${iv} ${below} is cheaper than ${above}; above it ${above}${x.inRange ? '' : ' (outside the measured sizes: an extrapolation)'}` +
            (x.crossShare < 0.95 ? `; the lines cross in only ${Math.round(x.crossShare * 100)}% of the draws` : '')
          : `${below} is cheaper than ${above} at every frame size${x.crossShare > 0.05 ? ` by the fitted lines (yet they cross at a positive size in ${Math.round(x.crossShare * 100)}% of the draws: unsure)` : ''}`;
        out.push({ ...key, a: a.transport, b: b.transport, bytes: x.x, bytesIv: x.xIv, crossShare: x.crossShare, cheaperBelow: below, inRange: x.inRange, sentence });
      }
    }
  }
  return out;
}

function fpsLaws(run: RunResult, plan: BootstrapPlan): FpsLaw[] {
  const out: FpsLaw[] = [];
  const cases = run.results.filter((c) => usable(c) && c.targetFps !== undefined);
  for (const group of groupBy(cases, (c) => `${c.transport}|${seriesId(seriesKey(c, 'fps'))}`).values()) {
    if (new Set(group.map((c) => c.targetFps)).size < 2) continue;
    const pts: FitPoint[] = group.map((c) => ({ x: c.targetFps!, ys: perRound(c, (r) => r.cpuUsPerFrame.total * r.fps) }));
    const f = fitLine(pts, plan);
    if (!f) continue;
    out.push({ transport: group[0].transport, ...seriesKey(group[0], 'fps'), fit: withoutDraws(f), idleUsPerSecond: f.fixed, idleIv: f.fixedIv, perFrameUs: f.slope, perFrameIv: f.slopeIv });
  }
  return out;
}

/** The sweep's points, laws and crossings. */
export function analyzeSweep(run: RunResult): SweepSummary {
  const plan = bootstrapPlan(run.rounds ?? 1);
  const memMiB = memcpyUsPerMiB(run);
  const { laws, draws } = sizeLaws(run, plan, memMiB);
  return {
    method: plan.length ? SIZE_METHOD : `${SIZE_METHOD}; fewer than 3 rounds: no intervals`,
    memcpyUsPerMiB: memMiB,
    points: run.results.filter((c) => c.frameBytes > 0).map(point),
    sizeLaws: laws,
    crossings: crossings(laws, draws),
    fpsLaws: fpsLaws(run, plan),
  };
}
