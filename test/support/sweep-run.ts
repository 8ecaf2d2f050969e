import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaseResult, CaseRound, RunResult } from '../../core/result';
import { analyzeSweep } from '../../core/sweep';

/**
 * A synthetic sweep result with known laws, for the reporter and cost tests: every case's rounds are drawn
 * (seeded noise, plus a drift shared by every case of a round, as on a real machine) from
 * CPU per frame = fixed + perByte × bytes (40% producer, 60% consumer), the case template being a real
 * results@2 case (test/fixtures-results/run2-sample.json).
 */

export const SIZES: Array<[number, number]> = [[640, 360], [1280, 720], [1920, 1080], [3840, 2160]];
export const LAWS: Record<string, { fixed: number; perByte: number }> = {
  ws: { fixed: 100, perByte: 0.0009 },
  unix: { fixed: 300, perByte: 0.0004 },
  tcp: { fixed: 350, perByte: 0.00045 },
  shm: { fixed: 900, perByte: 0.0001 },
};
/** ws and shm cost the same at 800 / 0.0008 = 1,000,000 B per frame. */
export const WS_SHM_CROSSING = 1_000_000;
export const FPS_LAW = { idle: 2000, perFrame: 500 };
export const ROUNDS = 7;

/** A seeded normal generator (Box-Muller over mulberry32), so the tests draw the same noise every run. */
export function gauss(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export function sweepRun(cv = 0.04, seed = 5): RunResult {
  const base = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures-results', 'run2-sample.json'), 'utf8')) as RunResult;
  const template = base.results[0];
  const g = gauss(seed);
  const drift = Array.from({ length: ROUNDS }, () => 1 + 0.02 * g());
  const make = (transport: string, scenario: string, w: number, h: number, producers: number, cpuOf: () => number, fpsOf: () => number, extra: Partial<CaseResult> = {}): CaseResult => {
    const rounds: CaseRound[] = drift.map((d, i) => {
      const total = cpuOf() * d * (1 + cv * g());
      return { round: i, status: 'ok', cpuUsPerFrame: { producer: total * 0.4, consumer: total * 0.6, total }, copyEquivalents: 0, fps: fpsOf(), latencyUs: { p50: 1, p99: 2, count: 30 }, frames: 30 };
    });
    const med = (f: (r: CaseRound) => number): number => [...rounds.map(f)].sort((a, b) => a - b)[ROUNDS >> 1];
    return {
      ...structuredClone(template), transport, scenario, format: 'i420', width: w, height: h, frameBytes: (w * h * 3) / 2, producers,
      cpuUsPerFrame: { producer: med((r) => r.cpuUsPerFrame.producer), consumer: med((r) => r.cpuUsPerFrame.consumer), total: med((r) => r.cpuUsPerFrame.total) },
      fps: med((r) => r.fps), rounds, intervals: {}, noisyRounds: 0, status: 'ok', ...extra,
    };
  };
  const results: CaseResult[] = [];
  for (const [w, h] of SIZES) {
    for (const [t, law] of Object.entries(LAWS)) results.push(make(t, 'realtime', w, h, 1, () => law.fixed + law.perByte * (w * h * 1.5), () => 30 * (1 + 0.01 * g())));
  }
  for (const p of [1, 2, 4]) {
    for (const t of ['ws', 'shm']) results.push(make(t, 'multi-producer', 1280, 720, p, () => LAWS[t].fixed * (1 + 0.1 * p) + LAWS[t].perByte * 1_382_400, () => 30 * p * (t === 'ws' ? 1 - 0.05 * p : 1)));
  }
  for (const fps of [15, 30, 60]) {
    for (const t of ['unix', 'shm']) results.push(make(t, 'realtime', 1280, 720, 1, () => FPS_LAW.perFrame + FPS_LAW.idle / fps + (t === 'shm' ? 100 : 0), () => fps, { targetFps: fps }));
  }
  const run: RunResult = {
    ...base,
    rounds: ROUNDS,
    settings: { ...base.settings, transports: Object.keys(LAWS), scenarios: ['realtime', 'multi-producer'], sweep: { resolutions: ['360p', '720p', '1080p', '4k'], fps: [15, 30, 60], producers: [1, 2, 4], fragmentBytes: [] } },
    calibration: { ...base.calibration, memcpyUsByFrameBytes: { 345600: 25, 1382400: 100, 3110400: 225, 12441600: 900 } },
    ratios: [],
    results,
  };
  run.sweep = analyzeSweep(run);
  return run;
}
