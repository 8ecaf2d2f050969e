import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaseResult, RunResult } from '../core/result';
import { computeCost, DEFAULT_COST_MODEL, modelFrameBytes, type CostModelConfig } from '../core/cost';

const FIX = join(__dirname, 'fixtures-results');
const sample = (): RunResult => JSON.parse(readFileSync(join(FIX, 'sample-run.json'), 'utf8'));

const I420_1080 = 3_110_400;

/** A case with only the fields the cost model reads set to meaningful values. */
function kase(transport: string, scenario: string, cpuTotal: number, passes: [number, number] | null, over: Partial<CaseResult> = {}): CaseResult {
  const base = JSON.parse(readFileSync(join(FIX, 'sample-run.json'), 'utf8')).results[0] as CaseResult;
  return {
    ...base, transport, scenario, format: 'i420', width: 1920, height: 1080, frameBytes: I420_1080, status: 'ok',
    cpuUsPerFrame: { producer: cpuTotal / 2, consumer: cpuTotal / 2, total: cpuTotal },
    copyEquivalents: cpuTotal / 250,
    copies: passes ? { ...base.copies!, framePasses: { producer: passes[0], consumer: passes[1] } } : null,
    ...over,
  };
}

function run(results: CaseResult[], memcpyGBps = 10, cores = 4): RunResult {
  const r = sample();
  r.results = results;
  r.settings.transports = [...new Set(results.map((c) => c.transport))];
  r.calibration.memcpyGBps = memcpyGBps;
  r.host.cores = cores;
  return r;
}

// Fleet chosen so the stream count is exactly 1,000: 3,110,400 B x 30 fps x 1,000.
const CFG: CostModelConfig = { ...DEFAULT_COST_MODEL, vcpuHourUsd: 0.05, fleetBytesPerSecond: I420_1080 * 30 * 1000 };

describe('cost model arithmetic (hand-checked)', () => {
  it('1080p I420 is 3,110,400 bytes; RGBA 8,294,400', () => {
    expect(modelFrameBytes({ format: 'i420', width: 1920, height: 1080 })).toBe(3_110_400);
    expect(modelFrameBytes({ format: 'rgba', width: 1920, height: 1080 })).toBe(8_294_400);
  });

  it('default model: 1 TB/s of 1080p30 I420 is 1e12 / 93,312,000 = 10,716.74 streams; c7i.large price per vCPU', () => {
    const s = computeCost(run([kase('ws', 'realtime', 1000, [2, 3])]), DEFAULT_COST_MODEL);
    expect(s.streams).toBeCloseTo(10_716.735, 2);
    expect(DEFAULT_COST_MODEL.vcpuHourUsd).toBeCloseTo(0.044625, 6);
    // 1000 µs x 30 / 1e6 = 0.03 vCPU/stream; x 10,716.735 = 321.502 vCPUs; 8760 h x $0.044625 = $390.915 per vCPU-year;
    // 321.502 x 390.915 = $125,680.0
    expect(s.transports[0]!.totalCores).toBeCloseTo(321.502, 2);
    expect(s.transports[0]!.usdPerYear).toBeCloseTo(125_680.0, 0);
  });

  it('cores, $/year and savings per transport', () => {
    const s = computeCost(run([kase('ws', 'realtime', 1000, [2, 3]), kase('shm', 'realtime', 100, [0, 0])]), CFG);
    expect(s.streams).toBeCloseTo(1000, 9);
    const [ws, shm] = s.transports;
    // ws: 1000 µs x 30 fps / 1e6 = 0.03 vCPU per stream; x 1000 streams = 30 vCPUs; 30 x 8760 x $0.05 = $13,140
    expect(ws!.coresPerStream).toBeCloseTo(0.03, 12);
    expect(ws!.totalCores).toBeCloseTo(30, 9);
    expect(ws!.usdPerYear).toBeCloseTo(13_140, 6);
    expect(ws!.savingsUsdPerYear).toBeCloseTo(0, 9);
    // shm: 100 µs -> 0.003 vCPU/stream -> 3 vCPUs -> $1,314; saves $11,826 = 90%
    expect(shm!.totalCores).toBeCloseTo(3, 9);
    expect(shm!.usdPerYear).toBeCloseTo(1_314, 6);
    expect(shm!.savingsUsdPerYear).toBeCloseTo(11_826, 6);
    expect(shm!.savingsPct).toBeCloseTo(90, 9);
    expect(s.baselineUsdPerYear).toBeCloseTo(13_140, 6);
    expect(s.headline).toContain('ws costs 30 vCPUs = $13k/yr; shm saves $12k/yr (90%)');
  });

  it('memory traffic: passes x frame bytes x fps against the calibrated memcpy bandwidth', () => {
    const s = computeCost(run([kase('ws', 'realtime', 1000, [2, 3]), kase('shm', 'realtime', 100, [0, 0])], 10, 4), CFG);
    const ws = s.transports[0]!.memory;
    // 5 passes x 3,110,400 B x 30 fps = 466,560,000 B/s; 10 GB/s / 466.56 MB/s = 21.433 streams per host
    expect(ws.passesPerFrame).toBe(5);
    expect(ws.passesFrom).toBe('framePasses');
    expect(ws.bytesPerSecondPerStream).toBe(466_560_000);
    expect(ws.streamsPerHostMemoryBound).toBeCloseTo(21.4335, 3);
    // CPU bound: 4 cores / 0.03 vCPU per stream = 133.33 streams, so memory is the limit first
    expect(ws.streamsPerHostCpuBound).toBeCloseTo(133.333, 2);
    expect(ws.limitedBy).toBe('memory');
    const shm = s.transports[1]!.memory;
    expect(shm.bytesPerSecondPerStream).toBe(0);
    expect(shm.streamsPerHostMemoryBound).toBeNull();
    expect(shm.limitedBy).toBe('cpu');
  });

  it('without copy accounting, passes fall back to copy-equivalents and say so', () => {
    const s = computeCost(run([kase('tcp', 'realtime', 750, null)]), CFG);
    const m = s.transports[0]!.memory;
    // 750 µs / 250 µs memcpy = 3 copy-equivalents
    expect(m.passesFrom).toBe('copyEquivalents');
    expect(m.passesPerFrame).toBe(3);
    expect(m.bytesPerSecondPerStream).toBe(3 * I420_1080 * 30);
  });

  it('prefers the realtime case of the model format, says which case it used, skips failures', () => {
    const sat = kase('ws', 'saturate', 500, [2, 3]);
    const rt = kase('ws', 'realtime', 1000, [2, 3]);
    const rgba = kase('ws', 'realtime', 9999, [2, 3], { format: 'rgba', frameBytes: 8_294_400 });
    const failedRt = kase('tcp', 'realtime', 10, [1, 2], { status: 'FB_ERR_PEER_GONE' });
    const tcpSat = kase('tcp', 'saturate', 600, [1, 2]);
    const onlyRgba = kase('unix', 'realtime', 10, [1, 2], { format: 'rgba', frameBytes: 8_294_400 });
    const s = computeCost(run([sat, rgba, rt, failedRt, tcpSat, onlyRgba]), CFG);
    const ws = s.transports.find((t) => t.transport === 'ws')!;
    expect(ws.source.caseKey).toBe('ws/realtime/i420/1920x1080');
    expect(ws.cpuUsPerFrame).toBe(1000);
    const tcp = s.transports.find((t) => t.transport === 'tcp')!;
    expect(tcp.source.caseKey).toBe('tcp/saturate/i420/1920x1080');
    expect(tcp.source.note).toContain('saturate');
    expect(s.skipped).toEqual([{ transport: 'unix', reason: 'no i420 result' }]);
  });

  it('scales CPU by frame bytes when only another resolution ran, and says so', () => {
    // 720p I420 = 1,382,400 B; 1080p/720p = 2.25; 400 µs -> 900 µs
    const c = kase('unix', 'realtime', 400, [1, 2], { width: 1280, height: 720, frameBytes: 1_382_400 });
    const t = computeCost(run([c]), CFG).transports[0]!;
    expect(t.source.scaled).toBe(true);
    expect(t.cpuUsPerFrame).toBeCloseTo(900, 9);
    expect(t.source.note).toContain('scaled');
  });

  it('reports a missing baseline instead of inventing savings', () => {
    const s = computeCost(run([kase('shm', 'realtime', 100, [0, 0])]), CFG);
    expect(s.baselineUsdPerYear).toBeNull();
    expect(s.transports[0]!.savingsUsdPerYear).toBeNull();
    expect(s.headline).toContain("baseline 'ws' has no usable result");
  });

  it('prices the sample run: ws realtime 3,313.4 µs -> 1,065 vCPUs at 1 TB/s', () => {
    const s = computeCost(sample());
    const ws = s.transports.find((t) => t.transport === 'ws')!;
    // 3313.4 x 30 / 1e6 = 0.099402 vCPU/stream x 10,716.735 = 1,065.27 vCPUs
    expect(ws.totalCores).toBeCloseTo(1065.27, 1);
    expect(s.skipped).toEqual([]);
    expect(s.transports.map((t) => t.transport)).toEqual(['ws', 'ws-nomask', 'unix', 'tcp', 'shm', 'shm-copy']);
  });
});

describe('savings from paired rounds', () => {
  const run2 = (): RunResult => JSON.parse(readFileSync(join(__dirname, 'fixtures-results', 'run2-sample.json'), 'utf8')) as RunResult;

  it('the share saved is 1 - 1/(paired baseline/transport ratio), with its interval carried through', () => {
    const run = run2();
    const ratio = run.ratios!.find((r) => r.a === 'ws' && r.b === 'shm' && r.group === 'realtime/i420/1280x720')!;
    // make the paired median differ from the ratio of the two medians, so the test tells them apart
    ratio.median = 2;
    ratio.lo = 1.6;
    ratio.hi = 2.5;
    const shm = computeCost(run).transports.find((t) => t.transport === 'shm')!;
    expect(shm.savingsPct).toBeCloseTo(50, 6);
    expect(shm.savingsPctInterval).toMatchObject({ n: ratio.n, level: ratio.level });
    expect(shm.savingsPctInterval!.lo).toBeCloseTo(37.5, 6);
    expect(shm.savingsPctInterval!.hi).toBeCloseTo(60, 6);
    const ws = computeCost(run).transports.find((t) => t.transport === 'ws')!;
    expect(shm.savingsUsdPerYear).toBeCloseTo(ws.usdPerYear / 2, 3);
    expect(computeCost(run).headline).toMatch(/shm saves .* \(50%, 38-60% over \d+ paired rounds\)/);
  });

  it('without rounds (an @1 result) it stays the ratio of the two figures', () => {
    const run = run2();
    delete run.ratios;
    const t = computeCost(run).transports;
    const ws = t.find((x) => x.transport === 'ws')!;
    const shm = t.find((x) => x.transport === 'shm')!;
    expect(shm.savingsPct).toBeCloseTo((1 - shm.usdPerYear / ws.usdPerYear) * 100, 6);
    expect(shm.savingsPctInterval).toBeUndefined();
  });
});
