import { encode, merge, percentiles } from '../core/histogram';
import { medianInterval, pairedRatio, type Interval } from '../core/robust-stats';
import { groupKey } from '../core/cost';
import type { CaseResult, CaseRound, RatioFigure } from '../core/result';

/**
 * Folds the rounds of one case into its figures: every per-frame figure is the median over the
 * rounds whose window completed ('ok'), with its order-statistic interval in `intervals` (keyed by
 * the figure's dotted path); counts (frames sent, received, dropped, corrupt) are summed over all
 * rounds, so integrity covers the whole run; latency percentiles come from the rounds' histograms
 * merged (every real sample once), and the per-round p50/p99 keep their own intervals. Each
 * round keeps its window's host noise (CaseResult.noise, measure/figures.ts) in rounds[i].noise;
 * noisyRounds counts the flagged ones. A noisy round is flagged, never dropped: it still counts.
 */

/** The per-frame figures that get a median and an interval over rounds. */
export const ROUND_FIGURES = [
  'cpuUsPerFrame.producer', 'cpuUsPerFrame.consumer', 'cpuUsPerFrame.server', 'cpuUsPerFrame.total',
  'cpuDetailUsPerFrame.producerUser', 'cpuDetailUsPerFrame.producerSystem', 'cpuDetailUsPerFrame.consumerUser', 'cpuDetailUsPerFrame.consumerSystem',
  'copyEquivalents', 'fps', 'gbps',
  'kernelBytesPerFrame.producer', 'kernelBytesPerFrame.consumer',
  'copies.memcpyCallsPerFrame.producer', 'copies.memcpyCallsPerFrame.consumer',
  'copies.userBytesPerFrame.producer', 'copies.userBytesPerFrame.consumer',
  'copies.framePasses.producer', 'copies.framePasses.consumer', 'copies.maskedBytesPerFrame',
  ...(['producer', 'consumer'] as const).flatMap((side) =>
    (['gcUs', 'gcPauses', 'minorFaults', 'volCtxSwitches', 'involCtxSwitches'] as const).map((k) => `runtimePerFrame.${side}.${k}` as const)),
] as const;

function get(o: unknown, dotted: string): number | undefined {
  const v = dotted.split('.').reduce<unknown>((x, k) => (x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), o);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function set(o: Record<string, unknown>, dotted: string, value: number): void {
  const keys = dotted.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    if (!cur[k] || typeof cur[k] !== 'object') return; // the figure does not exist for this case (no copies, no server)
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;

/** One case's figures over its rounds (in round order). */
export function aggregateRounds(rounds: CaseResult[]): CaseResult {
  if (rounds.length === 0) throw new Error('aggregateRounds: no rounds');
  const ok = rounds.filter((r) => r.status === 'ok');
  const base = structuredClone(ok[0] ?? rounds[0]) as CaseResult;
  const failed = rounds.find((r) => r.status !== 'ok');
  const intervals: Record<string, Interval> = {};
  for (const path of ROUND_FIGURES) {
    const xs = ok.map((r) => get(r, path)).filter((x): x is number => x !== undefined);
    if (xs.length === 0) continue;
    const iv = medianInterval(xs);
    intervals[path] = iv;
    set(base as unknown as Record<string, unknown>, path, iv.median);
  }
  // latency: per-round p50/p99 intervals, and the whole run's percentiles from every sample
  for (const p of ['p50', 'p99'] as const) {
    const xs = ok.map((r) => r.latencyUs[p]).filter((x) => x > 0);
    if (xs.length > 0) intervals[`latencyUs.${p}`] = medianInterval(xs);
  }
  const hists = ok.map((r) => r.histogram ?? '').filter(Boolean);
  if (hists.length > 0) {
    const all = merge(hists);
    base.latencyUs = percentiles(all);
    base.histogram = encode(all);
  } else delete base.histogram;
  for (const side of ['producer', 'consumer'] as const) mergeStatHistograms(base.transportStats[side], ok.map((r) => r.transportStats[side]));
  const sum = (f: (r: CaseResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
  base.framesSent = sum((r) => r.framesSent);
  base.framesReceived = sum((r) => r.framesReceived);
  base.framesDropped = sum((r) => r.framesDropped);
  base.framesCorrupt = sum((r) => r.framesCorrupt);
  base.window = {
    seconds: round(sum((r) => r.window.seconds), 3),
    producerFrames: sum((r) => r.window.producerFrames),
    consumerFrames: sum((r) => r.window.consumerFrames),
  };
  base.rssPeakBytes = {
    producer: Math.max(...rounds.map((r) => r.rssPeakBytes.producer)),
    consumer: Math.max(...rounds.map((r) => r.rssPeakBytes.consumer)),
  };
  base.intervals = intervals;
  base.rounds = rounds.map((r, i): CaseRound => ({
    round: i,
    status: r.status,
    cpuUsPerFrame: r.cpuUsPerFrame,
    copyEquivalents: r.copyEquivalents,
    fps: r.fps,
    latencyUs: { p50: r.latencyUs.p50, p99: r.latencyUs.p99, count: r.latencyUs.count },
    frames: r.window.consumerFrames,
    ...(r.noise ? { noise: r.noise } : {}),
    ...(r.runtimePerFrame ? { runtimePerFrame: r.runtimePerFrame } : {}),
    ...(r.warmup ? { warmup: r.warmup } : {}),
  }));
  delete base.warmup; // per window: each round's is in rounds[i].warmup
  base.noisyRounds = base.rounds.filter((r) => r.noise?.noisy).length;
  delete base.noise; // per window: each round's is in rounds[i].noise
  if (failed) {
    base.status = failed.status;
    base.error = `round ${rounds.indexOf(failed) + 1} of ${rounds.length}: ${failed.error ?? failed.status}`;
  }
  return base;
}

/**
 * A transport's own latency figures in its stats (shm's wake-to-handler: `wakeHistogram` with
 * `wakeSamples`, `wakeP50Us`, `wakeP99Us`, `wakeMaxUs`) are merged like the harness's latency:
 * every round's samples once, the percentiles taken over all of them. Any stat `<name>Histogram`
 * (core/histogram's encoding, µs) works so. The other stats stay those of the first ok round.
 */
function mergeStatHistograms(into: Record<string, number | string>, rounds: Array<Record<string, number | string>>): void {
  for (const key of Object.keys(into)) {
    if (!key.endsWith('Histogram') || typeof into[key] !== 'string') continue;
    const name = key.slice(0, -'Histogram'.length);
    const all = merge(rounds.map((r) => r[key]).filter((x): x is string => typeof x === 'string'));
    const p = percentiles(all);
    into[key] = encode(all);
    const put = (k: string, v: number): void => {
      if (typeof into[name + k] === 'number') into[name + k] = v;
    };
    put('Samples', p.count);
    // (a percentile is its bucket's highest equivalent value: never above the maximum seen)
    put('P50Us', Math.min(p.p50, p.max));
    put('P99Us', Math.min(p.p99, p.max));
    put('MaxUs', p.max);
  }
}

/**
 * Paired CPU ratios between the transports of each group: for every pair (a, b) with both cases
 * ok, a's CPU per frame over b's, round by round, then the median and interval of those ratios.
 */
export function pairedCpuRatios(cases: CaseResult[]): RatioFigure[] {
  const groups = new Map<string, CaseResult[]>();
  for (const c of cases) {
    if (c.status !== 'ok' || !c.rounds) continue;
    const k = groupKey(c);
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const out: RatioFigure[] = [];
  for (const [group, cs] of groups) {
    for (const a of cs) {
      for (const b of cs) {
        if (a === b) continue;
        const n = Math.min(a.rounds!.length, b.rounds!.length);
        const xs: number[] = [];
        const ys: number[] = [];
        for (let i = 0; i < n; i++) {
          if (a.rounds![i].status !== 'ok' || b.rounds![i].status !== 'ok') continue;
          xs.push(a.rounds![i].cpuUsPerFrame.total);
          ys.push(b.rounds![i].cpuUsPerFrame.total);
        }
        const iv = pairedRatio(xs, ys);
        if (iv.n > 0) out.push({ group, metric: 'cpuUsPerFrame.total', a: a.transport, b: b.transport, ...iv });
      }
    }
  }
  return out;
}
