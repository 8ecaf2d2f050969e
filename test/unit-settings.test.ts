import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { HEADER_BYTES } from '../core/frame';
import { Value } from '@sinclair/typebox/value';
import { BUILTIN_CONFIG, loadConfig } from '../harness/config';
import { configJsonSchema, FIELDS, fieldProblems, listOf, schemaDefaults, type SettingKey } from '../harness/settings-schema';
import { RUN_OPTIONS } from '../cli/run';
import { parseInject, planCases, resolveSettings, type RawSettings, type RunSettings } from '../harness/runner';
import { SCENARIOS } from '../scenarios';
import { transportNames } from '../transports/registry';
import { ROOT } from './support/cli';
import { codeOf } from './support/transport-kit';
import './support/require-ts'; // the registry requires the adapters lazily

/**
 * Settings resolution (harness/config.ts loadConfig, harness/runner.ts resolveSettings) and
 * case planning (planCases): which cases for which transports, scenarios and formats, and the
 * FB_ERR code of each bad input, before any process starts.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-settings-'));
const savedInject = process.env.FRAMEBENCH_TEST_INJECT;
beforeEach(() => {
  delete process.env.FRAMEBENCH_TEST_INJECT; // set only by the tests about it
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (savedInject !== undefined) process.env.FRAMEBENCH_TEST_INJECT = savedInject;
});

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
}

/** The FB_ERR code `fn` throws, or what it did instead. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return codeOf(e);
  }
  return 'no error';
}

describe('loadConfig', () => {
  it('no file: the built-in defaults, as a copy', () => {
    const cfg = loadConfig(null);
    expect(cfg).toEqual(BUILTIN_CONFIG);
    cfg.durationS = 99;
    expect(BUILTIN_CONFIG.durationS).not.toBe(99);
  });

  it('a file sets what it names; the defaults stay under the rest', () => {
    const cfg = loadConfig(file('part.json', JSON.stringify({ durationS: 3, transports: ['unix'], gate: { repeats: 2 } })));
    expect(cfg).toEqual({ ...BUILTIN_CONFIG, durationS: 3, transports: ['unix'], gate: { repeats: 2 } });
  });

  it('a .js file: its default export or module.exports', () => {
    expect(loadConfig(file('a.js', 'module.exports = { fps: 60 };')).fps).toBe(60);
    expect(loadConfig(file('b.js', 'exports.default = { fps: 24 };')).fps).toBe(24);
  });

  it('a .ts file is transpiled (never type-checked) and its values checked against the schema, naming the key', () => {
    // a type error alone does not stop it (type-checking is npm run typecheck's job) ...
    expect(loadConfig(file('ok.ts', "const d: number = 2.5 as unknown as string as unknown as number;\nexport default { durationS: d };\n")).durationS).toBe(2.5);
    // ... but a value the schema refuses does, with the file and the key
    let err: unknown;
    try {
      loadConfig(file('bad.ts', "const d: number = 'long' as unknown as number;\nexport default { durationS: d };\n"));
    } catch (e) {
      err = e;
    }
    expect(codeOf(err)).toBe('FB_ERR_CONFIG');
    expect(String((err as Error).message)).toMatch(/^bad\.ts: durationS /);
  });

  it('refuses each mistyped or out-of-range setting with FB_ERR_CONFIG naming the key', () => {
    const bad: Array<[string, unknown]> = [
      ['transports', 'ws'], ['transports', []], ['transports', ['carrier-pigeon']], ['scenarios', ['burst']], ['formats', ['nv12']],
      ['resolution', 'huge'], ['fps', 0], ['fps', '30'], ['durationS', -1], ['rounds', 1.5], ['warmupS', -0.1], ['producers', 0],
      ['verify', 'maybe'], ['source', 'camera'], ['policy', 'spill'], ['copyAccounting', 'yes'], ['transportOptions', { ws: 3 }],
      ['cost', { vcpuHourUsd: 'cheap' }], ['cost', { nope: 1 }], ['gate', { repeats: 'many' }],
    ];
    for (const [key, value] of bad) {
      let err: unknown;
      try {
        loadConfig(file(`bad-${key}.json`, JSON.stringify({ [key]: value })));
      } catch (e) {
        err = e;
      }
      expect(codeOf(err), `${key} = ${JSON.stringify(value)}`).toBe('FB_ERR_CONFIG');
      expect(String((err as Error).message)).toContain(`bad-${key}.json: ${key}`);
    }
  });

  it('transport module paths in a config are relative to the config file', () => {
    const mod = file('my-transport.js', 'module.exports = {};');
    const cfg = loadConfig(file('with-module.json', JSON.stringify({ transports: ['unix', './my-transport.js'] })));
    expect(cfg.transports).toEqual(['unix', mod]);
  });

  it('refuses with FB_ERR_CONFIG: a missing file, bad JSON, a throwing module, a non-object, an unknown setting', () => {
    expect(thrown(() => loadConfig(path.join(tmp, 'nope.json')))).toBe('FB_ERR_CONFIG');
    expect(thrown(() => loadConfig(file('broken.json', '{ "fps": ')))).toBe('FB_ERR_CONFIG');
    expect(thrown(() => loadConfig(file('throws.js', 'throw new Error("boom");')))).toBe('FB_ERR_CONFIG');
    expect(thrown(() => loadConfig(file('array.json', '[1, 2]')))).toBe('FB_ERR_CONFIG');
    expect(thrown(() => loadConfig(file('null.json', 'null')))).toBe('FB_ERR_CONFIG');
    const unknown = file('typo.json', JSON.stringify({ durationSeconds: 3 }));
    expect(thrown(() => loadConfig(unknown))).toBe('FB_ERR_CONFIG');
    expect(() => loadConfig(unknown)).toThrow(/unknown setting 'durationSeconds'/);
  });
});

const RAW: RawSettings = {
  transports: ['unix'], scenarios: ['realtime'], formats: ['i420'], resolution: '360p', fps: 30, durationS: 1, warmupS: 0.2,
  producers: 3, verify: 'sample', source: 'synthetic', copyAccounting: true, policy: 'block', transportOptions: {},
};
const resolve = (over: Partial<RawSettings>): RunSettings => resolveSettings({ ...RAW, ...over });

describe('resolveSettings', () => {
  it('resolves names, sizes and numbers; drops repeated names', () => {
    const s = resolve({ transports: ['unix', 'tcp', 'unix'], formats: ['I420', 'rgba', 'i420'], resolution: '720p', scenarios: ['saturate', 'realtime'] });
    expect(s).toMatchObject({
      transports: ['unix', 'tcp'], formats: ['i420', 'rgba'], width: 1280, height: 720, resolution: '720p',
      fps: 30, durationS: 1, warmupS: 0.2, producers: 3, verify: 'sample', policy: 'block', skipped: [], inject: undefined,
    });
    expect(s.scenarios.map((x) => x.name)).toEqual(['saturate', 'realtime']);
    expect(resolve({ scenarios: ['all'] }).scenarios).toEqual([...SCENARIOS]);
    expect(resolve({ resolution: '641x361', formats: ['rgba'] })).toMatchObject({ width: 641, height: 361 });
    expect(resolve({ warmupS: 0 }).warmupS).toBe(0);
  });

  it("'all' transports: every registered one either runs or is skipped with its reason", () => {
    const s = resolve({ transports: ['all'] });
    const skipped = s.skipped.map((x) => x.transport);
    expect([...s.transports, ...skipped].sort()).toEqual(transportNames().sort());
    expect(s.transports.filter((t) => skipped.includes(t))).toEqual([]);
    for (const x of s.skipped) expect(x.reason, x.transport).toMatch(/\S/);
  });

  it("a transport that cannot run here: named, it is refused; under 'all', skipped with its reason", () => {
    // the shm addon made unloadable, in a child (this process may have loaded it already)
    const runner = path.join(ROOT, 'dist', 'harness', 'runner.js');
    const script = `const { resolveSettings } = require(${JSON.stringify(runner)});
const raw = JSON.parse(process.argv[1]);
let named = 'no error';
try { resolveSettings({ ...raw, transports: ['shm'] }); } catch (e) { named = e.code; }
const all = resolveSettings({ ...raw, transports: ['all'] });
console.log(JSON.stringify({ named, transports: all.transports, skipped: all.skipped }));`;
    const r = spawnSync(process.execPath, ['-e', script, JSON.stringify(RAW)], {
      env: { ...process.env, FRAMEBENCH_SHM_ADDON: path.join(tmp, 'missing', 'framebench_shm.node') }, encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { named: string; transports: string[]; skipped: RunSettings['skipped'] };
    expect(out.named).toBe('FB_ERR_TRANSPORT_UNAVAILABLE');
    expect(out.transports).not.toContain('shm');
    expect(out.skipped.find((x) => x.transport === 'shm')?.reason).toMatch(/framebench_shm\.node not found/);
  });

  it.each<[string, Partial<RawSettings>, string]>([
    ['an unknown transport', { transports: ['unix', 'carrier-pigeon'] }, 'FB_ERR_UNKNOWN_TRANSPORT'],
    ['no transport', { transports: [] }, 'FB_ERR_UNKNOWN_TRANSPORT'],
    ['an unknown scenario', { scenarios: ['burst'] }, 'FB_ERR_UNKNOWN_SCENARIO'],
    ['no scenario', { scenarios: [] }, 'FB_ERR_UNKNOWN_SCENARIO'],
    ['an unknown format', { formats: ['nv12'] }, 'FB_ERR_BAD_FORMAT'],
    ['no format', { formats: [] }, 'FB_ERR_BAD_FORMAT'],
    ['a resolution that is no preset and no WxH', { resolution: '640x' }, 'FB_ERR_BAD_RESOLUTION'],
    ['a side of 0', { resolution: '0x360' }, 'FB_ERR_BAD_RESOLUTION'],
    ['a side above 16384', { resolution: '16386x2', formats: ['rgba'] }, 'FB_ERR_BAD_RESOLUTION'],
    ['an odd I420 size', { resolution: '641x360' }, 'FB_ERR_BAD_RESOLUTION'],
    ['fps 0', { fps: 0 }, 'FB_ERR_BAD_NUMBER'],
    ['fps above 1000', { fps: 1001 }, 'FB_ERR_BAD_NUMBER'],
    ['fps NaN', { fps: NaN }, 'FB_ERR_BAD_NUMBER'],
    ['a duration of 0', { durationS: 0 }, 'FB_ERR_BAD_NUMBER'],
    ['a negative warm-up', { warmupS: -0.1 }, 'FB_ERR_BAD_NUMBER'],
    ['0 producers', { producers: 0 }, 'FB_ERR_BAD_NUMBER'],
    ['65 producers', { producers: 65 }, 'FB_ERR_BAD_NUMBER'],
    ['1.5 producers', { producers: 1.5 }, 'FB_ERR_BAD_NUMBER'],
    ['an unknown verify mode', { verify: 'some' }, 'FB_ERR_USAGE'],
    ['an unknown policy', { policy: 'wait' }, 'FB_ERR_USAGE'],
    ['an unknown source', { source: 'camera' }, 'FB_ERR_USAGE'],
    ['the Chromium source over another transport', { source: 'chromium', transports: ['unix'] }, 'FB_ERR_USAGE'],
    ['the Chromium source unpaced', { source: 'chromium', transports: ['ws'], scenarios: ['saturate'] }, 'FB_ERR_USAGE'],
    ['a fixture that does not exist', { source: `fixture:${path.join(os.tmpdir(), 'fb-no-such-fixture')}` }, 'FB_ERR_FIXTURE_MISSING'],
    ['a frame above the transport limit', { transportOptions: { unix: { maxFrameBytes: 1000 } } }, 'FB_ERR_FRAME_TOO_LARGE'],
  ])('refuses %s', (_what, over, code) => {
    expect(thrown(() => resolve(over))).toBe(code);
  });

  it('FRAMEBENCH_TEST_INJECT: parsed per transport, refused when unreadable', () => {
    expect(parseInject(undefined)).toBeUndefined();
    expect(parseInject('unix:extraCopy, tcp:busyUs=25,unix:busyUs=3')).toEqual({ unix: { extraCopy: true, busyUs: 3 }, tcp: { busyUs: 25 } });
    expect(thrown(() => parseInject('unix:faster'))).toBe('FB_ERR_USAGE');
    process.env.FRAMEBENCH_TEST_INJECT = 'unix:extraCopy';
    expect(resolve({}).inject).toEqual({ unix: { extraCopy: true } });
  });
});

describe('planCases', () => {
  const settings = resolve;

  it('one case per scenario x format x transport, transport innermost, numbered from 1', () => {
    const cases = planCases(settings({ transports: ['unix', 'tcp', 'ws'], scenarios: ['realtime', 'saturate'], formats: ['i420', 'rgba'] }));
    expect(cases.map((c) => `${c.caseId} ${c.scenario} ${c.format} ${c.transport}`)).toEqual([
      '1 realtime i420 unix', '2 realtime i420 tcp', '3 realtime i420 ws',
      '4 realtime rgba unix', '5 realtime rgba tcp', '6 realtime rgba ws',
      '7 saturate i420 unix', '8 saturate i420 tcp', '9 saturate i420 ws',
      '10 saturate rgba unix', '11 saturate rgba tcp', '12 saturate rgba ws',
    ]);
  });

  it("each case carries its scenario's pacing, producers and sizes, and the run's numbers", () => {
    const cases = planCases(settings({ scenarios: ['all'], formats: ['rgba'], fps: 24, durationS: 1.5, warmupS: 0.25, policy: 'drop', verify: 'full' }));
    const by = Object.fromEntries(cases.map((c) => [c.scenario, c]));
    expect(Object.keys(by)).toEqual(['realtime', 'saturate', 'multi-producer', 'variable-size']);
    for (const c of cases) {
      expect(c).toMatchObject({ transport: 'unix', format: 'rgba', fps: 24, durationMs: 1500, warmupMs: 250, policy: 'drop', verify: 'full', source: 'synthetic' });
      expect(c.transportOptions).toEqual({});
      expect(c).not.toHaveProperty('runDir');
    }
    expect([by.realtime.pacing, by.saturate.pacing, by['multi-producer'].pacing, by['variable-size'].pacing]).toEqual(['fps', 'max', 'fps', 'fps']);
    expect([by.realtime.producers, by.saturate.producers, by['multi-producer'].producers, by['variable-size'].producers]).toEqual([1, 1, 3, 1]);
    expect(by.realtime.sizes).toEqual([[640, 360]]);
    expect(by['variable-size'].sizes).toEqual([[640, 360], [1280, 720], [1920, 1080], [3840, 2160]]);
    // room for the largest frame it carries, header included
    expect(by.realtime.maxFrameBytes).toBe(640 * 360 * 4 + HEADER_BYTES);
    expect(by['variable-size'].maxFrameBytes).toBe(3840 * 2160 * 4 + HEADER_BYTES);
  });

  it("a transport's options go to its cases only; a larger maxFrameBytes option wins", () => {
    const cases = planCases(settings({ transports: ['unix', 'ws'], transportOptions: { ws: { fragmentBytes: 4096, maxFrameBytes: 1 << 24 } } }));
    const [unix, ws] = cases;
    expect(unix).toMatchObject({ transport: 'unix', maxFrameBytes: 640 * 360 * 1.5 + HEADER_BYTES });
    expect(unix.transportOptions).toEqual({});
    expect(ws).toMatchObject({ transport: 'ws', maxFrameBytes: 1 << 24 });
    expect(ws.transportOptions).toEqual({ fragmentBytes: 4096, maxFrameBytes: 1 << 24 });
  });

  it('injected regressions reach the cases of their transport only', () => {
    process.env.FRAMEBENCH_TEST_INJECT = 'tcp:busyUs=40';
    const [unix, tcp] = planCases(resolve({ transports: ['unix', 'tcp'] }));
    expect(unix.inject).toBeUndefined();
    expect(tcp.inject).toEqual({ busyUs: 40 });
  });
});

describe('the settings schema (harness/settings-schema.ts)', () => {
  it('gives the defaults: BUILTIN_CONFIG is what the schema says, and it passes its own checks', () => {
    expect(BUILTIN_CONFIG).toEqual(schemaDefaults());
    for (const k of Object.keys(FIELDS) as SettingKey[]) {
      if (BUILTIN_CONFIG[k] !== undefined) expect(fieldProblems(k, BUILTIN_CONFIG[k]), k).toEqual([]);
    }
  });

  it('bench.config.ts is checked against it and restates the schema defaults it sets (transpiled, no type check)', () => {
    const cfg = loadConfig(path.join(ROOT, 'bench.config.ts'));
    for (const k of ['transports', 'scenarios', 'formats', 'resolution', 'fps', 'durationS', 'rounds', 'warmupS', 'producers', 'verify', 'source', 'out', 'copyAccounting', 'policy'] as SettingKey[]) {
      expect(cfg[k], k).toEqual(BUILTIN_CONFIG[k]);
    }
  });

  it('bench run --help is generated from it: every setting flag shows its description and default', () => {
    for (const [key, flag] of [['fps', 'fps'], ['durationS', 'duration'], ['producers', 'producers'], ['verify', 'verify']] as Array<[SettingKey, string]>) {
      const f = FIELDS[key] as { description?: string };
      const line = RUN_OPTIONS.find((o) => o.name === flag)!;
      expect(line.help).toBe(`${f.description} (default: ${String(BUILTIN_CONFIG[key])})`);
    }
  });

  it('schema/config.schema.json is the committed JSON Schema (npm run schema:write)', () => {
    const committed = JSON.parse(readFileSync(path.join(ROOT, 'schema', 'config.schema.json'), 'utf8')) as unknown;
    expect(committed).toEqual(configJsonSchema());
    expect(JSON.stringify(committed)).toContain('"exclusiveMinimum":0');
  });

  it('a field can take a list later: listOf() accepts a value or a non-empty list of values', () => {
    const fpsSweep = listOf(FIELDS.fps);
    expect(Value.Check(fpsSweep, 30)).toBe(true);
    expect(Value.Check(fpsSweep, [15, 30, 60])).toBe(true);
    expect(Value.Check(fpsSweep, [])).toBe(false);
    expect(Value.Check(fpsSweep, [30, 0])).toBe(false);
  });
});
