import { getTransport, parseTransports, transportNames, unavailableReason } from '../transports/registry';
import { checkOptions } from '../transports/options';
import { packageVersion } from '../core/paths';
import { CYCLE_RESOLUTIONS, parseScenarios, type Scenario } from '../scenarios';
import { calibrate, calibrateAllCores } from '../measure/calibrate';
import { runCase, type ProcessHooks } from './coordinator';
import { fbError } from '../core/errors';
import { memcpyUsFor } from '../measure/figures';
import { HEADER_BYTES, payloadBytesFor, type PixelFormat } from '../core/frame';
import { hostInfo } from '../measure/host';
import { VERIFY_MODES, type CaseSpec, type VerifyMode } from '../core/case';
import { METHODOLOGY_VERSION, RESULT_SCHEMA, type Calibration, type CaseResult, type RunResult } from '../core/result';
import { median } from '../core/robust-stats';
import { aggregateRounds, pairedCpuRatios } from '../measure/aggregate';
import { provenance } from '../measure/provenance';
import { frameSpec, parseFormat, parseResolution } from '../core/spec';
import { MALLOC_MODES, withMalloc, type MallocMode } from './malloc-env';
import { isSweep, planSweep, ratiosBySweepPoint, sweepFields } from './plan';
import { analyzeSweep } from '../core/sweep';
import type { SweepAxes } from '../core/result';
import { BOT_SOURCE } from '../core/bot-cost';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { botCases, botFigures } from './bot-case';

/** Everything one `bench run` needs, validated. */
export interface RunSettings {
  transports: string[];
  scenarios: Scenario[];
  formats: PixelFormat[];
  resolution: string;
  width: number;
  height: number;
  fps: number;
  durationS: number;
  warmupS: number;
  /** Steady warm-up cap, s (measure/steady.ts); 0: the warm-up is warmupS, fixed. */
  warmupMaxS: number;
  /** The allocator of the case's processes (harness/malloc-env.ts). */
  malloc: MallocMode;
  producers: number;
  verify: VerifyMode;
  source: string;
  copyAccounting: boolean;
  policy: 'block' | 'drop';
  transportOptions: Record<string, Record<string, unknown>>;
  /** Interleaved rounds: every case is measured once per round, in an order that rotates. */
  rounds: number;
  /** Profilers attached to the measured processes ('perf', 'v8'), recorded in the result. */
  profiling?: string | null;
  /** The command line, recorded in the result. */
  argv?: string[];
  /** Transports that were asked for implicitly ('all') but cannot run here. */
  skipped: Array<{ transport: string; reason: string }>;
  /** Test-only regressions per transport (FRAMEBENCH_TEST_INJECT), to prove the gate sees them. */
  inject?: Record<string, NonNullable<CaseSpec['inject']>>;
  /** A sweep's axes (harness/plan.ts): every combination is planned; resolution, fps and producers above are the first values. */
  axes?: SweepAxes;
  /** false: no all-core bandwidth probe at the end (it feeds the cost model only; the gate has no use for it). */
  allCoreCalibration?: boolean;
}

/**
 * Parses FRAMEBENCH_TEST_INJECT: `<transport>:extraCopy` (one more copy of each frame in
 * the send path), `<transport>:busyUs=N` (N µs of CPU time burnt per frame) or
 * `<transport>:flipByte` (one payload byte changed in every frame from seq 5 on, after the
 * frame is filled and checksummed); comma-separated.
 */
export function parseInject(env: string | undefined): RunSettings['inject'] {
  if (!env) return undefined;
  const out: NonNullable<RunSettings['inject']> = {};
  for (const item of env.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [t, what] = item.split(':');
    const cur = (out[t] = out[t] ?? {});
    if (what === 'extraCopy') cur.extraCopy = true;
    else if (what === 'flipByte') cur.flipByte = true;
    else if (what?.startsWith('busyUs=')) cur.busyUs = Number(what.slice(7));
    // `<transport>:consumerStallMs=N`: the consumer blocks N ms once, on its window's 11th frame
    else if (what?.startsWith('consumerStallMs=')) cur.consumerStallMs = Number(what.slice('consumerStallMs='.length));
    else throw fbError('FB_ERR_USAGE', `FRAMEBENCH_TEST_INJECT: cannot parse '${item}'`);
  }
  return out;
}

export interface RawSettings {
  transports: string[];
  scenarios: string[];
  formats: string[];
  resolution: string;
  fps: number;
  durationS: number;
  warmupS: number;
  /** Steady warm-up cap, s; absent or 0: a fixed warm-up of warmupS. */
  warmupMaxS?: number;
  /** Absent: 'default' (glibc as it comes). */
  malloc?: string;
  producers: number;
  verify: string;
  source: string;
  copyAccounting: boolean;
  policy: string;
  transportOptions: Record<string, Record<string, unknown>>;
  /** Interleaved rounds (default 1). */
  rounds?: number;
}

function isVerifyMode(v: string): v is VerifyMode {
  return (VERIFY_MODES as readonly string[]).includes(v);
}

function checkNumber(name: string, v: number, min: number, max: number, strictMin = false): number {
  if (!Number.isFinite(v) || v < min || (strictMin && v === min) || v > max) {
    throw fbError('FB_ERR_BAD_NUMBER', `${name} must be ${strictMin ? '>' : '>='} ${min} and <= ${max}, got ${v}`);
  }
  return v;
}

/** Validates settings before anything starts: bad input never gets as far as a process. */
export function resolveSettings(input: RawSettings): RunSettings {
  let raw = input;
  const explicitAll = raw.transports.includes('all');
  const names = parseTransports(raw.transports.join(','));
  const scenarios = parseScenarios(raw.scenarios.join(','));
  const formats = [...new Set(raw.formats.map(parseFormat))];
  if (formats.length === 0) throw fbError('FB_ERR_BAD_FORMAT', 'no format named');
  if (raw.source !== 'synthetic' && raw.source !== 'chromium' && raw.source !== BOT_SOURCE && !raw.source.startsWith('fixture:')) {
    throw fbError('FB_ERR_USAGE', `--source must be 'synthetic', 'fixture:<name>', 'chromium' or '${BOT_SOURCE}', got '${raw.source}'`);
  }
  if (raw.source === 'chromium' || raw.source === BOT_SOURCE) checkLiveSource(raw, scenarios);
  if (raw.source === BOT_SOURCE) checkBotSource(raw, scenarios, formats);
  if (raw.source.startsWith('fixture:')) {
    // fails early with FB_ERR_FIXTURE_MISSING / _CORRUPT, never garbage frames
    const fx = require('../sources/fixture-set') as { loadFixtureSet(d: string, f: string): { spec: { width: number; height: number } } };
    for (const f of formats) {
      const set = fx.loadFixtureSet(raw.source.slice('fixture:'.length), f);
      raw = { ...raw, resolution: `${set.spec.width}x${set.spec.height}` };
    }
  }
  const [width, height] = parseResolution(raw.resolution);
  const fps = checkNumber('--fps', raw.fps, 0, 1000, true);
  const durationS = checkNumber('--duration', raw.durationS, 0, 86400, true);
  const warmupS = checkNumber('--warmup', raw.warmupS, 0, 3600);
  const warmupMaxS = checkNumber('--warmup-max', raw.warmupMaxS ?? 0, 0, 3600);
  const malloc = (raw.malloc ?? 'default') as MallocMode;
  if (!MALLOC_MODES.includes(malloc)) throw fbError('FB_ERR_USAGE', `--malloc must be ${MALLOC_MODES.join(' or ')}, got '${raw.malloc}'`);
  const producers = checkNumber('--producers', raw.producers, 1, 64);
  if (!Number.isInteger(producers)) throw fbError('FB_ERR_BAD_NUMBER', `--producers must be a whole number, got ${producers}`);
  const rounds = checkNumber('--rounds', raw.rounds ?? 1, 1, 1000);
  if (!Number.isInteger(rounds)) throw fbError('FB_ERR_BAD_NUMBER', `--rounds must be a whole number, got ${rounds}`);
  const verify = raw.verify;
  const policy = raw.policy;
  if (!isVerifyMode(verify)) throw fbError('FB_ERR_USAGE', `--verify must be one of ${VERIFY_MODES.map((m) => `'${m}'`).join(', ')}, got '${verify}'`);
  if (policy !== 'block' && policy !== 'drop') throw fbError('FB_ERR_USAGE', `--policy must be 'block' or 'drop', got '${policy}'`);
  for (const f of formats) frameSpec(f, width, height); // I420 needs even sizes

  const transports: string[] = [];
  const skipped: RunSettings['skipped'] = [];
  for (const n of names) {
    const reason = unavailableReason(n);
    if (reason) {
      if (!explicitAll) throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `${n}: ${reason}`);
      skipped.push({ transport: n, reason });
      continue;
    }
    const t = getTransport(n);
    if (t.nativeEnds?.producer && raw.source !== 'synthetic') {
      // a native producer program makes synthetic frames only (harness/native-peer.ts)
      const why = `its producer is a native program that makes synthetic frames only (source '${raw.source}')`;
      if (!explicitAll) throw fbError('FB_ERR_USAGE', `${n}: ${why}`);
      skipped.push({ transport: n, reason: why });
      continue;
    }
    checkOptions(n, t.options, raw.transportOptions[n]); // an unknown or mistyped option: refused before any case runs
    const largest = Math.max(...formats.map((f) => payloadBytesFor(f, width, height))) + HEADER_BYTES;
    const maxBytes = Number(raw.transportOptions[n]?.maxFrameBytes ?? t.maxFrameBytes);
    if (largest > maxBytes) {
      throw fbError('FB_ERR_FRAME_TOO_LARGE', `${n} carries frames of at most ${maxBytes} B; a ${width}x${height} frame is ${largest} B`);
    }
    transports.push(n);
  }
  if (transports.length === 0) throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `no transport can run here: ${skipped.map((s) => `${s.transport}: ${s.reason}`).join('; ')}`);
  if (raw.source === BOT_SOURCE) {
    // the bot run's shared-memory reference (harness/bot-case.ts); without it the figure has no saving
    const shmReason = unavailableReason('shm');
    if (shmReason) skipped.push({ transport: 'shm', reason: `the bot's shared-memory write reference: ${shmReason}` });
  }
  return {
    transports, scenarios, formats, resolution: raw.resolution, width, height, fps, durationS, warmupS, warmupMaxS, malloc, producers,
    verify, source: raw.source, copyAccounting: raw.copyAccounting, policy,
    transportOptions: raw.transportOptions, rounds, skipped, inject: parseInject(process.env.FRAMEBENCH_TEST_INJECT),
  };
}

/** Live mode runs only over ws, paced, with Chromium installed. */
function checkLiveSource(raw: RawSettings, scenarios: Scenario[]): void {
  const names = raw.transports.includes('all') ? ['all'] : raw.transports;
  if (names.length !== 1 || names[0] !== 'ws') throw fbError('FB_ERR_USAGE', '--source chromium runs with --transport ws only (the page\'s own WebSocket)');
  const bad = scenarios.filter((s) => s.pacing !== 'fps' || s.sizes !== 'fixed');
  if (bad.length) throw fbError('FB_ERR_USAGE', `--source chromium paces frames at --fps: scenario ${bad.map((s) => s.name).join(', ')} is not supported (use realtime or multi-producer)`);
  const browser = require('../sources/browser') as { resolveChromiumPath(p?: string): string };
  browser.resolveChromiumPath(process.env.CHROMIUM_PATH); // FB_ERR_CHROMIUM_MISSING with the install command
}

/** The bot (`--source chromium-bot`): decoded I420 from WebCodecs, one bot, the consumer checks every byte. */
function checkBotSource(raw: RawSettings, scenarios: Scenario[], formats: PixelFormat[]): void {
  if (formats.length !== 1 || formats[0] !== 'i420') throw fbError('FB_ERR_USAGE', `--source ${BOT_SOURCE} sends the decoder's I420 frames: use --format i420 (RGBA: --source chromium)`);
  const many = scenarios.filter((s) => s.producers === 'many');
  if (many.length) throw fbError('FB_ERR_USAGE', `--source ${BOT_SOURCE} runs one bot: use --scenario realtime, not ${many.map((s) => s.name).join(', ')}`);
  if (raw.verify !== 'checksum') throw fbError('FB_ERR_USAGE', `--source ${BOT_SOURCE} frames carry the payload checksum and nothing else to check: use --verify checksum`);
}

function sizesFor(s: RunSettings, sc: Scenario): Array<[number, number]> {
  return sc.sizes === 'cycle' ? CYCLE_RESOLUTIONS.map((r) => parseResolution(r)) : [[s.width, s.height]];
}

/** The cases of a run (every combination of a sweep's axes, harness/plan.ts), transport innermost so comparable rows sit together. */
export function planCases(s: RunSettings): Array<Omit<CaseSpec, 'runDir'>> {
  return planSweep(s, planOne);
}

function planOne(s: RunSettings): Array<Omit<CaseSpec, 'runDir'>> {
  const out: Array<Omit<CaseSpec, 'runDir'>> = [];
  const shmAvailable = s.source === BOT_SOURCE && !s.skipped.some((x) => x.transport === 'shm');
  let n = 0;
  for (const sc of s.scenarios) {
    for (const format of s.formats) {
      for (const transport of s.transports) {
        const sizes = sizesFor(s, sc);
        const largest = Math.max(...sizes.map(([w, h]) => payloadBytesFor(format, w, h))) + HEADER_BYTES;
        const push = (c: Omit<CaseSpec, 'runDir'>): void => void (s.source === BOT_SOURCE ? out.push(...botCases(c, shmAvailable)) : out.push(c));
        push({
          caseId: `${++n}`,
          transport, scenario: sc.name, pacing: sc.pacing, format, sizes,
          fps: s.fps, warmupMs: s.warmupS * 1000, durationMs: s.durationS * 1000,
          // the browser is the producer in live mode: its warm-up stays fixed
          ...(s.warmupMaxS > 0 && !s.source.startsWith('chromium') ? { steadyWarmupMaxMs: Math.max(s.warmupS, s.warmupMaxS) * 1000 } : {}),
          producers: sc.producers === 'many' ? s.producers : 1,
          verify: s.verify, source: s.source,
          maxFrameBytes: Math.max(largest, Number(s.transportOptions[transport]?.maxFrameBytes ?? 0)),
          policy: s.policy,
          transportOptions: s.transportOptions[transport] ?? {},
          inject: s.inject?.[transport],
        });
      }
    }
  }
  return out;
}

export interface RunHooks {
  /** `index` counts windows over the whole run (rounds x cases); `round` is 0-based. */
  onCaseStart?: (index: number, total: number, c: Omit<CaseSpec, 'runDir'>, round: number) => void;
  onCaseEnd?: (index: number, total: number, r: CaseResult, round: number) => void;
  onCalibrating?: (round: number) => void;
  processHooks?: ProcessHooks;
  abort?: AbortSignal;
}

/**
 * What a case is compared with: the cases that differ only by transport share a key (scenario, format, sizes,
 * fps, producers), and their ratios are paired round by round.
 */
export function pairingKey(c: Pick<CaseSpec, 'scenario' | 'format' | 'sizes' | 'fps' | 'producers'>): string {
  return `${c.scenario}|${c.format}|${c.sizes.map(([w, h]) => `${w}x${h}`).join(',')}|${c.fps}|${c.producers}`;
}

/**
 * Case indices in the order round `r` visits them. The cases that are compared with each other (same
 * `pairingKey`) stay next to each other, so a paired ratio's two windows are seconds apart, never a round
 * apart; the groups rotate so each moves through the round, and inside a group the transports rotate so none
 * always follows the same neighbour.
 */
export function roundOrder(keys: readonly string[], rounds: number, r: number): number[] {
  const groups: number[][] = [];
  const at = new Map<string, number[]>();
  keys.forEach((k, i) => {
    let g = at.get(k);
    if (!g) {
      g = [];
      at.set(k, g);
      groups.push(g);
    }
    g.push(i);
  });
  const G = groups.length;
  if (G === 0) return [];
  const shift = Math.floor((r * G) / Math.max(1, rounds)) % G;
  const out: number[] = [];
  for (let j = 0; j < G; j++) {
    const g = groups[(j + shift) % G];
    for (let m = 0; m < g.length; m++) out.push(g[(m + r) % g.length]);
  }
  return out;
}

/** The median of the rounds' calibrations, per frame size. */
function medianCalibration(cals: Calibration[]): Calibration {
  if (cals.length === 1) return cals[0];
  const byBytes: Record<string, number> = {};
  for (const k of Object.keys(cals[0].memcpyUsByFrameBytes)) byBytes[k] = median(cals.map((c) => c.memcpyUsByFrameBytes[k]));
  // the other fields (cache size, set, paging, noise) are those of the median round
  const mid = [...cals].sort((a, b) => a.memcpyUsPerFrame - b.memcpyUsPerFrame)[(cals.length - 1) >> 1];
  return {
    ...mid,
    memcpyUsPerFrame: median(cals.map((c) => c.memcpyUsPerFrame)),
    memcpyUsByFrameBytes: byBytes,
    memcpyGBps: median(cals.map((c) => c.memcpyGBps)),
    ...(cals.every((c) => c.wakeupCpuUs !== undefined) ? { wakeupCpuUs: median(cals.map((c) => c.wakeupCpuUs as number)) } : {}),
    ...(cals.every((c) => c.wakeupLatencyUs !== undefined) ? { wakeupLatencyUs: median(cals.map((c) => c.wakeupLatencyUs as number)) } : {}),
    samples: cals.reduce((a, c) => a + c.samples, 0),
    method: `${mid.method}; median of ${cals.length} rounds`,
  };
}

/**
 * Runs the whole matrix in interleaved rounds and returns the versioned result. Each round
 * calibrates memcpy, then visits every case once (one window each) in a rotated order, so slow
 * drift of the machine hits every transport alike; the figures are medians over rounds with
 * intervals, and ratios between transports are paired round by round. Never prints.
 */
export async function runBench(s: RunSettings, hooks: RunHooks = {}): Promise<RunResult> {
  const startedAt = new Date().toISOString();
  if (s.source === BOT_SOURCE) {
    // FB_ERR_WEBCODECS_MISSING before any case runs (exit 2), not a failed case per round
    const bot = require('../sources/chromium-bot') as typeof import('../sources/chromium-bot');
    await bot.checkWebCodecs(process.env.CHROMIUM_PATH);
    // the clip is encoded once per run: the bot pages of every case share it (sources/chromium-bot.ts)
    const clipDir = mkdtempSync(join(tmpdir(), 'framebench-botclip-'));
    process.env[bot.BOT_CLIP_DIR_ENV] = clipDir;
    try {
      return await withMalloc(s.malloc, () => measureRounds(s, hooks, startedAt));
    } finally {
      delete process.env[bot.BOT_CLIP_DIR_ENV];
      rmSync(clipDir, { recursive: true, force: true });
    }
  }
  return withMalloc(s.malloc, () => measureRounds(s, hooks, startedAt));
}

async function measureRounds(s: RunSettings, hooks: RunHooks, startedAt: string): Promise<RunResult> {
  const cases = planCases(s);
  const sizes = new Set<number>();
  for (const c of cases) for (const [w, h] of c.sizes) sizes.add(payloadBytesFor(c.format, w, h));
  const rounds = Math.max(1, s.rounds);
  const perCase: CaseResult[][] = cases.map(() => []);
  const calibrations: Calibration[] = [];
  let complete = true;
  let step = 0;
  const total = rounds * cases.length;
  run: for (let r = 0; r < rounds; r++) {
    if (hooks.abort?.aborted) {
      complete = false;
      break;
    }
    hooks.onCalibrating?.(r);
    const calibration = await calibrate([...sizes]);
    calibrations.push(calibration);
    for (const i of roundOrder(cases.map(pairingKey), rounds, r)) {
      if (hooks.abort?.aborted) {
        complete = false;
        break run;
      }
      hooks.onCaseStart?.(step, total, cases[i], r);
      const res = await runCase(cases[i], { memcpyUs: memcpyUsFor(cases[i], calibration.memcpyUsByFrameBytes), hooks: hooks.processHooks, abort: hooks.abort });
      if (res.status === 'FB_ERR_INTERRUPTED') complete = false;
      perCase[i].push(res);
      hooks.onCaseEnd?.(step++, total, res, r);
    }
  }
  const results = perCase.flatMap((rs, i) => {
    if (rs.length === 0) return [];
    const agg = { ...aggregateRounds(rs), ...sweepFields(cases[i], s.axes) };
    const bot = s.source === BOT_SOURCE ? botFigures(rs) : undefined;
    return [bot ? { ...agg, bot } : agg];
  });
  const prov = provenance(s.argv ?? process.argv.slice(2));
  const run: RunResult = {
    schema: RESULT_SCHEMA,
    methodology: METHODOLOGY_VERSION,
    framebenchVersion: packageVersion(),
    startedAt,
    finishedAt: new Date().toISOString(),
    complete,
    provenance: prov,
    host: hostInfo(),
    rounds,
    settings: {
      transports: s.transports, scenarios: s.scenarios.map((x) => x.name), formats: s.formats, resolution: s.resolution,
      fps: s.fps, durationS: s.durationS, warmupS: s.warmupS, warmupMaxS: s.warmupMaxS, malloc: s.malloc, producers: s.producers, verify: s.verify,
      source: s.source, copyAccounting: s.copyAccounting, policy: s.policy, transportOptions: s.transportOptions,
      profiling: s.profiling ?? null,
      ...(s.inject ? { inject: s.inject } : {}),
      ...(isSweep(s.axes) ? { sweep: s.axes } : {}),
    },
    skipped: s.skipped,
    calibration: { ...medianCalibration(calibrations.length ? calibrations : [await calibrate([...sizes])]), ...(s.allCoreCalibration === false ? {} : await calibrateAllCores([...sizes])) },
    calibrationRounds: calibrations,
    ratios: ratiosBySweepPoint(results, s.axes, pairedCpuRatios),
    results,
  };
  if (isSweep(s.axes)) run.sweep = analyzeSweep(run);
  return run;
}

export { transportNames };
