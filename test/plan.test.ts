import { describe, expect, it } from 'vitest';
import { HEADER_BYTES } from '../core/frame';
import { checkAxes, combinations, isSweep, listValues, numberList, parseAxes, ratiosBySweepPoint, sweepFields } from '../harness/plan';
import { pairingKey, planCases, resolveSettings, roundOrder, type RawSettings, type RunSettings } from '../harness/runner';
import { parseOptions } from '../cli/options';
import { RUN_OPTIONS } from '../cli/run';
import { runCli } from './support/cli';
import './support/require-ts'; // the registry requires the adapters lazily

/**
 * Sweeps: list options parse into axes, and the plan measures every combination once, an axis reaching only
 * the cases it changes, inside the run's ordinary case list (so the interleaved rounds cover every point).
 */

const RAW: RawSettings = {
  transports: ['unix', 'ws'], scenarios: ['realtime'], formats: ['i420'], resolution: '360p', fps: 30, durationS: 1, warmupS: 0.2,
  producers: 2, verify: 'checksum', source: 'synthetic', copyAccounting: false, policy: 'block', transportOptions: {},
};

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

function sweep(over: Partial<RawSettings>, axes: Parameters<typeof parseAxes>[0]): RunSettings {
  const a = parseAxes(axes);
  const raw = { ...RAW, ...over, resolution: a.resolutions[0], fps: a.fps[0], producers: a.producers[0] };
  checkAxes(raw, a, resolveSettings);
  return { ...resolveSettings(raw), axes: a };
}

describe('list options', () => {
  it('the command line gives lists for --resolution, --fps, --producers and --fragment-bytes', () => {
    const { values } = parseOptions(['--resolution', '360p,720p', '--fps=15,30', '--producers', '1,2,4', '--fragment-bytes', '0,65536'], RUN_OPTIONS);
    const a = parseAxes({ resolution: values.resolution, fps: values.fps, producers: values.producers, fragmentBytes: values['fragment-bytes'] });
    expect(a).toEqual({ resolutions: ['360p', '720p'], fps: [15, 30], producers: [1, 2, 4], fragmentBytes: [0, 65536] });
    expect(isSweep(a)).toBe(true);
  });

  it('a single value is no sweep; config defaults (numbers, strings) parse the same way', () => {
    const a = parseAxes({ resolution: '1080p', fps: 30, producers: 4 });
    expect(a).toEqual({ resolutions: ['1080p'], fps: [30], producers: [4], fragmentBytes: [] });
    expect(isSweep(a)).toBe(false);
  });

  it('drops duplicates, also two names of one size', () => {
    expect(parseAxes({ resolution: '720p, 1280x720 ,4k,720p', fps: '30,30', producers: 1 }).resolutions).toEqual(['720p', '4k']);
    expect(listValues('fps', ' 15 , ,30,15')).toEqual(['15', '30']);
  });

  it('refuses bad items with the codes a single value gets', () => {
    expect(code(() => numberList('fps', '30,abc'))).toBe('FB_ERR_BAD_NUMBER');
    expect(code(() => parseAxes({ resolution: '720p,huge', fps: 30, producers: 1 }))).toBe('FB_ERR_BAD_RESOLUTION');
    expect(code(() => listValues('fps', ' , '))).toBe('FB_ERR_USAGE');
    // each value is validated by the runner's own checks before anything runs
    expect(code(() => sweep({}, { resolution: '360p', fps: '30,0', producers: 1 }))).toBe('FB_ERR_BAD_NUMBER');
    expect(code(() => sweep({}, { resolution: '360p,641x480', fps: 30, producers: 1 }))).toBe('FB_ERR_BAD_RESOLUTION');
    expect(code(() => sweep({}, { resolution: '360p', fps: 30, producers: '1,65' }))).toBe('FB_ERR_BAD_NUMBER');
    expect(code(() => sweep({ transports: ['ws'] }, { resolution: '360p', fps: 30, producers: 1, fragmentBytes: '0,-5' }))).toBe('FB_ERR_BAD_NUMBER');
    expect(code(() => sweep({ source: 'fixture:x' }, { resolution: '360p,720p', fps: 30, producers: 1 }))).toBe('FB_ERR_USAGE');
  });
});

describe('planning a sweep', () => {
  it('every resolution x transport, sizes and ring room following the frame, ids renumbered', () => {
    const cases = planCases(sweep({ transports: ['unix', 'shm'] }, { resolution: '360p,720p,1080p,4k', fps: 30, producers: 1 }));
    expect(cases.map((c) => `${c.caseId} ${c.transport} ${c.sizes[0].join('x')}`)).toEqual([
      '1 unix 640x360', '2 shm 640x360', '3 unix 1280x720', '4 shm 1280x720',
      '5 unix 1920x1080', '6 shm 1920x1080', '7 unix 3840x2160', '8 shm 3840x2160',
    ]);
    // 4K I420 is 12,441,600 B: the transport (and the shm ring, sized from it) plans for that frame
    expect(cases[7].maxFrameBytes).toBe(12_441_600 + HEADER_BYTES);
  });

  it('--fps reaches paced scenarios only, --producers multi-producer only', () => {
    const cases = planCases(sweep({ transports: ['unix'], scenarios: ['realtime', 'saturate', 'multi-producer'] }, { resolution: '360p', fps: '15,60', producers: '1,3' }));
    const ids = cases.map((c) => `${c.scenario} ${c.fps}fps ${c.producers}p`);
    expect(ids.filter((s) => s.startsWith('realtime')).sort()).toEqual(['realtime 15fps 1p', 'realtime 60fps 1p']);
    expect(ids.filter((s) => s.startsWith('saturate'))).toHaveLength(1);
    expect(ids.filter((s) => s.startsWith('multi-producer')).sort()).toEqual(['multi-producer 15fps 1p', 'multi-producer 15fps 3p', 'multi-producer 60fps 1p', 'multi-producer 60fps 3p']);
    expect(new Set(cases.map((c) => c.caseId)).size).toBe(cases.length);
  });

  it('--fragment-bytes reaches the WebSocket transports only, as their fragmentBytes option', () => {
    const s = sweep({ transports: ['ws', 'unix'] }, { resolution: '360p', fps: 30, producers: 1, fragmentBytes: '0,65536,131000' });
    const cases = planCases(s);
    expect(cases.filter((c) => c.transport === 'ws').map((c) => c.transportOptions.fragmentBytes)).toEqual([0, 65536, 131000]);
    expect(cases.filter((c) => c.transport === 'unix')).toHaveLength(1);
    expect(sweepFields(cases[0], s.axes)).toEqual({ fragmentBytes: 0 });
    expect(sweepFields(cases.find((c) => c.transport === 'unix')!, s.axes)).toEqual({});
  });

  it('combinations cover the product of the axes', () => {
    const a = parseAxes({ resolution: '360p,720p', fps: '15,30,60', producers: '1,2', fragmentBytes: '0,131000' });
    const all = combinations(a);
    expect(all).toHaveLength(2 * 3 * 2 * 2);
    expect(new Set(all.map((p) => JSON.stringify(p))).size).toBe(all.length);
  });

  it('without lists the plan is the plain matrix', () => {
    const plain = resolveSettings(RAW);
    expect(planCases({ ...plain, axes: parseAxes({ resolution: '360p', fps: 30, producers: 2 }) })).toEqual(planCases(plain));
  });

  it('paired ratios are taken within a sweep point, never across fps', () => {
    const cs = [{ producers: 1, targetFps: 15, t: 'a' }, { producers: 1, targetFps: 15, t: 'b' }, { producers: 1, targetFps: 60, t: 'a' }, { producers: 1, targetFps: 60, t: 'b' }];
    const groups = ratiosBySweepPoint(cs, parseAxes({ resolution: '360p', fps: '15,60', producers: 1 }), (xs) => [{ group: 'realtime/i420/640x360', n: xs.map((x) => x.t).join('') }]);
    expect(groups).toEqual([{ group: 'realtime/i420/640x360@15fps', n: 'ab' }, { group: 'realtime/i420/640x360@60fps', n: 'ab' }]);
  });
});

describe('round order', () => {
  // the default matrix's shape: 4 comparison groups (scenario x format) of 4 transports each
  const plain = resolveSettings({ ...RAW, transports: ['ws', 'unix', 'tcp', 'shm'], scenarios: ['realtime', 'saturate'], formats: ['i420', 'rgba'] });
  const cases = planCases(plain);
  const keys = cases.map(pairingKey);

  it('visits every case once per round; the cases of one comparison are adjacent in every round', () => {
    expect(new Set(keys).size).toBe(4);
    for (let r = 0; r < 5; r++) {
      const order = roundOrder(keys, 5, r);
      expect([...order].sort((a, b) => a - b)).toEqual(cases.map((_, i) => i));
      // a group's members sit in one contiguous run of positions: its two windows of a paired ratio are seconds apart
      for (const k of new Set(keys)) {
        const at = order.map((i, pos) => (keys[i] === k ? pos : -1)).filter((p) => p >= 0);
        expect(at[at.length - 1] - at[0]).toBe(at.length - 1);
      }
    }
  });

  it('rotates the groups through the round and the transports through their group', () => {
    const firstGroup = new Set<string>();
    const firstInGroup = new Map<string, Set<string>>();
    for (let r = 0; r < 4; r++) {
      const order = roundOrder(keys, 4, r);
      firstGroup.add(keys[order[0]]);
      for (let pos = 0; pos < order.length; pos += 4) {
        const k = keys[order[pos]];
        if (!firstInGroup.has(k)) firstInGroup.set(k, new Set());
        firstInGroup.get(k)?.add(cases[order[pos]].transport);
      }
    }
    expect(firstGroup.size).toBe(4);
    for (const s of firstInGroup.values()) expect([...s].sort()).toEqual(['shm', 'tcp', 'unix', 'ws']);
  });

  it('a sweep groups by point: the transports of one frame size are compared, not two sizes', () => {
    const sw = planCases(sweep({ transports: ['unix', 'shm'] }, { resolution: '360p,720p', fps: 30, producers: 1 }));
    const k = sw.map(pairingKey);
    expect(new Set(k).size).toBe(2);
    const order = roundOrder(k, 3, 1);
    expect(k[order[0]]).toBe(k[order[1]]);
    expect(k[order[2]]).toBe(k[order[3]]);
  });
});

describe('bench run with lists', () => {
  it('refuses a bad list item with its code, before any process starts', async () => {
    const r = await runCli(['run', '--resolution', '360p,bogus', '--transport', 'unix']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^FB_ERR_BAD_RESOLUTION: /m);
    const f = await runCli(['run', '--fps', '30,-1', '--transport', 'unix']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/^FB_ERR_BAD_NUMBER: /m);
  });

  it('bench sweep: an unknown preset is refused; --help names the presets and their commands', async () => {
    const r = await runCli(['sweep', 'bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^FB_ERR_USAGE: unknown sweep 'bogus'/m);
    const h = await runCli(['sweep', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('bench run --transport ws,unix,tcp,shm --scenario realtime --format i420 --resolution 360p,720p,1080p,4k');
    expect(h.stdout).toContain('--fragment-bytes');
  });
});
