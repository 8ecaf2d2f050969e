import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeCost, copyBytesPerFrame, costTrace, DEFAULT_COST_MODEL, HOST_PROFILE_SCHEMA, resolveCostModel, type HostProfile } from '../core/cost';
import type { RunResult } from '../core/result';
import { renderRun } from '../reporters/registry';
import { runCli } from './support/cli';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-cost-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sample = (): RunResult => JSON.parse(readFileSync(path.join(__dirname, 'fixtures-results', 'run2-sample.json'), 'utf8')) as RunResult;
/** The fixture priced at its own 1280x720 size, so no case is scaled. */
const MODEL = { ...DEFAULT_COST_MODEL, width: 1280, height: 720, vcpuHourUsd: 0.1, instance: 'test.large', priceSource: 'a test price' };

describe('the recorded cost model', () => {
  it('a run records its model and every rendering re-prices with it, not the built-in one', () => {
    const run = { ...sample(), costModel: MODEL };
    const atRun = computeCost(run, MODEL);
    const again = computeCost(run); // what bench report does with a saved results.json
    expect(again.transports.map((t) => t.usdPerYear)).toEqual(atRun.transports.map((t) => t.usdPerYear));
    expect(again.headline).toBe(atRun.headline);
    expect(computeCost(run, DEFAULT_COST_MODEL).headline).not.toBe(atRun.headline);
    const md = renderRun(run, 'md');
    expect(md).toContain(atRun.headline);
    expect(md).toContain('Price: an assumption, $0.1 per vCPU-hour (test.large, a test price)');
    expect(renderRun(run, 'html')).toContain('Price: an assumption, $0.1 per vCPU-hour');
  });
  it('the headline carries the interval of the rounds and calls the price an assumption', () => {
    const s = computeCost({ ...sample(), costModel: MODEL });
    const ws = s.transports.find((t) => t.transport === 'ws')!;
    expect(ws.usdPerYearInterval!.n).toBe(3);
    expect(ws.usdPerYearInterval!.lo).toBeLessThanOrEqual(ws.usdPerYear);
    expect(ws.usdPerYearInterval!.hi).toBeGreaterThanOrEqual(ws.usdPerYear);
    expect(s.headline).toMatch(/ws costs [\d,]+ vCPUs = \$[\d.,kM]+\/yr \(\$[\d.,kM]+-\$[\d.,kM]+ over 3 rounds\)/);
    expect(s.headline).toContain('Price: an assumption');
  });
  it('the per-stream and per-host line adds up to the fleet total', () => {
    const s = computeCost({ ...sample(), costModel: MODEL });
    for (const t of s.transports) {
      expect(t.totalCores).toBeCloseTo(s.streams * t.coresPerStream, 6);
      expect(t.usdPerYear).toBeCloseTo(t.totalCores * 8760 * MODEL.vcpuHourUsd, 6);
      const line = costTrace(t, s);
      expect(line).toContain(`${t.transport}: `);
      expect(line).toMatch(/vCPU\/stream; a \d+-core host carries/);
      expect(line).toContain(`x 8,760 h x $0.1 = `);
    }
  });
  it('the memory limit uses the all-core bandwidth when the run has it', () => {
    const run = sample();
    const one = computeCost(run, MODEL).transports.find((t) => t.transport === 'ws')!.memory;
    expect(one.bandwidthFrom).toBe('single-core');
    run.calibration.allCoreMemcpyGBps = run.calibration.memcpyGBps * 3;
    const all = computeCost(run, MODEL).transports.find((t) => t.transport === 'ws')!.memory;
    expect(all.bandwidthFrom).toBe('all-core');
    expect(all.streamsPerHostMemoryBound!).toBeCloseTo(one.streamsPerHostMemoryBound! * 3, 6);
  });
  it('--price-host re-times the copy bytes at that host\'s speed and keeps the rest of the CPU', () => {
    const run = sample();
    const here = computeCost(run, MODEL);
    const profile: HostProfile = {
      schema: HOST_PROFILE_SCHEMA, hostname: 'there', cpuModel: 'Other CPU', cores: 8,
      singleCoreGBps: run.calibration.memcpyGBps / 2, allCoreGBps: 40, frameBytes: 3110400, measuredAt: '',
    };
    const there = computeCost(run, MODEL, profile);
    for (const t of there.transports) {
      const c = run.results.find((r) => r.transport === t.transport && `${r.transport}/${r.scenario}/${r.format}/${r.width}x${r.height}` === t.source.caseKey)!;
      const bytes = copyBytesPerFrame(c);
      const hereUs = bytes / (run.calibration.memcpyGBps * 1e3);
      expect(t.cpuUsPerFrame).toBeCloseTo(c.cpuUsPerFrame.total + hereUs, 3); // twice as slow: the copy time once more
      expect(t.memory.hostCores).toBe(8);
      expect(t.memory.bandwidthFrom).toBe('price-host');
    }
    expect(there.transports.find((t) => t.transport === 'ws')!.cpuUsPerFrame).toBeGreaterThan(here.transports.find((t) => t.transport === 'ws')!.cpuUsPerFrame);
    expect(there.headline).toContain('Priced as if on there (Other CPU, 8 cores)');
  });
});

describe('the model from the config', () => {
  it('a price given without its source is recorded as the config\'s, not under the default instance', () => {
    expect(resolveCostModel(undefined)).toEqual({ ...DEFAULT_COST_MODEL });
    const own = resolveCostModel({ vcpuHourUsd: 0.02 });
    expect(own.vcpuHourUsd).toBe(0.02);
    expect(own.priceSource).toBe('bench.config.ts cost.vcpuHourUsd');
    expect(own.instance).toBeUndefined();
    expect(resolveCostModel({ vcpuHourUsd: 0.02, instance: 'm7g.large', priceSource: 'spot, eu-west-1' })).toMatchObject({ instance: 'm7g.large', priceSource: 'spot, eu-west-1' });
  });
  it('bench compare prints each side\'s cost with its own recorded model and warns when they differ', async () => {
    const a = path.join(tmp, 'a.json');
    const b = path.join(tmp, 'b.json');
    writeFileSync(a, JSON.stringify({ ...sample(), costModel: MODEL }));
    writeFileSync(b, JSON.stringify({ ...sample(), costModel: { ...MODEL, vcpuHourUsd: 0.2 } }));
    const r = await runCli(['compare', a, b]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Fleet cost of A (its recorded model): ');
    expect(r.stdout).toContain('$0.1 per vCPU-hour');
    expect(r.stdout).toContain('$0.2 per vCPU-hour');
    expect(r.stdout).toContain('priced with different cost models');
  });
});

describe('bench calibrate and report --price-host (real CLI)', () => {
  it('writes a host profile that report --price-host prices with; a bad profile is FB_ERR_BAD_RESULT_FILE', async () => {
    const file = path.join(tmp, 'host.json');
    const c = await runCli(['calibrate', '--out', file], { timeoutMs: 120_000 });
    expect(c.code, c.stderr).toBe(0);
    const p = JSON.parse(readFileSync(file, 'utf8')) as HostProfile;
    expect(p.schema).toBe(HOST_PROFILE_SCHEMA);
    expect(p.cores).toBe(os.availableParallelism());
    expect(p.singleCoreGBps).toBeGreaterThan(0);
    expect(p.allCoreGBps).toBeGreaterThan(0);
    const results = path.join(__dirname, 'fixtures-results', 'run2-sample.json');
    const r = await runCli(['report', results, '--format', 'md', '--price-host', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Priced as if on ${p.hostname}`);
    writeFileSync(path.join(tmp, 'bad.json'), '{"schema":"nope"}');
    const bad = await runCli(['report', results, '--price-host', path.join(tmp, 'bad.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^FB_ERR_BAD_RESULT_FILE: host profile/m);
  }, 150_000);
});
