import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/**
 * The result file's schema, `framebench/run@2`, in TypeBox: one definition that is both the
 * JSON Schema shipped as schema/run@2.schema.json (`npm run schema:write`; a test checks the
 * file matches) and the validator `bench report`, `compare`, the gate and the tests use.
 * It names what other tools may read; objects may carry more fields than listed.
 */
const Num = Type.Number();
const Int = Type.Integer({ minimum: 0 });
const Str = Type.String();
const PerSide = Type.Object({ producer: Num, consumer: Num });

export const IntervalSchema = Type.Object({
  n: Int,
  median: Num,
  lo: Num,
  hi: Num,
  level: Type.Number({ minimum: 0, maximum: 1, description: 'coverage of [lo, hi] for the true median (order statistics)' }),
}, { $id: '#/$defs/interval' });

const NoiseSchema = Type.Object({ stealPct: Num, otherCpuPct: Num, noisy: Type.Boolean(), reason: Type.Optional(Str) });

const RuntimeSide = Type.Object({ gcUs: Num, gcPauses: Num, minorFaults: Num, volCtxSwitches: Num, involCtxSwitches: Num });
const RuntimeSchema = Type.Object({ producer: RuntimeSide, consumer: RuntimeSide }, {
  description: 'per frame, each side: V8 GC pause time and count, minor page faults, context switches (where the CPU went besides the work; what makes windows differ)',
});

const WarmupSchema = Type.Object({ ms: Num, ended: Type.Union([Type.Literal('steady'), Type.Literal('plateau'), Type.Literal('cap')]), faultPct: Type.Optional(Num) }, {
  description: 'a steady warm-up: how long it took and how it ended (steady, plateau: still faulting but no longer falling, cap)',
});

const CaseRoundSchema = Type.Object({
  round: Int,
  status: Str,
  cpuUsPerFrame: Type.Object({ producer: Num, consumer: Num, server: Type.Optional(Num), total: Num }),
  copyEquivalents: Num,
  fps: Num,
  latencyUs: Type.Object({ p50: Num, p99: Num, count: Int }),
  frames: Int,
  noise: Type.Optional(NoiseSchema),
  runtimePerFrame: Type.Optional(RuntimeSchema),
  warmup: Type.Optional(WarmupSchema),
});

const CalibrationSchema = Type.Object({
  memcpyUsPerFrame: Num,
  memcpyUsByFrameBytes: Type.Record(Str, Num),
  memcpyGBps: Num,
  samples: Int,
  bufferSetBytes: Num,
  method: Str,
  llcBytes: Type.Optional(Num),
  llcSource: Type.Optional(Type.Union([Type.Literal('sysfs'), Type.Literal('getconf'), Type.Literal('default')])),
  setLimitedBy: Type.Optional(Type.Union([Type.Literal('cache'), Type.Literal('cap'), Type.Literal('time')])),
  thp: Type.Optional(Str),
  hugePageBytes: Type.Optional(Num),
  prefaultMs: Type.Optional(Num),
  wakeupCpuUs: Type.Optional(Num),
  wakeupLatencyUs: Type.Optional(Num),
  faultsWhileTiming: Type.Optional(Num),
  hotMemcpyUsPerFrame: Type.Optional(Num),
  halfSetMemcpyUsPerFrame: Type.Optional(Num),
  cpu: Type.Optional(Str),
  noise: Type.Optional(NoiseSchema),
  allCoreMemcpyGBps: Type.Optional(Num),
  allCoreCopiers: Type.Optional(Int),
});

/** `--source chromium-bot`: the bot page's own figures per round (core/bot-cost.ts BotCaseFigures). */
const BotCaseSchema = Type.Object({
  role: Type.Union([Type.Literal('send'), Type.Literal('control')]),
  chromiumVersion: Str,
  codec: Str,
  clipFrames: Int,
  keyEvery: Int,
  bitrateKbps: Num,
  encodeMs: Num,
  stampErrors: Int,
  rounds: Type.Array(Type.Object({ round: Int, ok: Type.Boolean(), cpuUsPerFrame: Num, pageFps: Num, latePct: Num, workMs: Num, sendMs: Num })),
  pageFps: IntervalSchema,
  latePct: IntervalSchema,
  wire: Type.Optional(Type.Object({
    fragmentsPerMessage: Num, maxFragmentsPerMessage: Num, expectedAt131000: Int, meanFragmentBytes: Num, maskedShare: Num,
    flag: Type.Union([Str, Type.Null()]),
  })),
});

const CaseSchema = Type.Object({
  transport: Str,
  scenario: Str,
  format: Str,
  width: Int,
  height: Int,
  frameBytes: Num,
  producers: Int,
  framesSent: Int,
  framesReceived: Int,
  framesDropped: Type.Integer(),
  framesCorrupt: Int,
  fps: Num,
  gbps: Num,
  cpuUsPerFrame: Type.Object({ producer: Num, consumer: Num, server: Type.Optional(Num), total: Num }),
  cpuDetailUsPerFrame: Type.Object({ producerUser: Num, producerSystem: Num, consumerUser: Num, consumerSystem: Num }),
  copyEquivalents: Num,
  kernelBytesPerFrame: PerSide,
  kernelBytesMeasured: Type.Optional(Type.Object({ producer: Type.Boolean(), consumer: Type.Boolean() })),
  copies: Type.Union([Type.Null(), Type.Object({
    memcpyCallsPerFrame: PerSide,
    userBytesPerFrame: PerSide,
    framePasses: PerSide,
    maskedBytesPerFrame: Num,
    server: Type.Optional(Type.Object({ memcpyCallsPerFrame: Num, userBytesPerFrame: Num, kernelBytesPerFrame: Num, framePasses: Num })),
  })]),
  latencyUs: Type.Object({ p50: Num, p90: Num, p99: Num, p999: Num, max: Num, mean: Num, count: Int }),
  rssPeakBytes: PerSide,
  window: Type.Object({ seconds: Num, producerFrames: Int, consumerFrames: Int }),
  runtimePerFrame: Type.Optional(RuntimeSchema),
  warmup: Type.Optional(WarmupSchema),
  inProcess: Type.Optional(Type.Boolean()),
  masking: Type.Optional(Str),
  transportStats: Type.Object({ producer: Type.Record(Str, Type.Unknown()), consumer: Type.Record(Str, Type.Unknown()) }),
  status: Str,
  error: Type.Optional(Str),
  histogram: Type.Optional(Type.String({ description: 'HDR histogram of every latency sample (compressed base64)' })),
  intervals: Type.Record(Str, IntervalSchema),
  rounds: Type.Array(CaseRoundSchema, { minItems: 1 }),
  noisyRounds: Int,
  noise: Type.Optional(NoiseSchema),
  targetFps: Type.Optional(Num),
  fragmentBytes: Type.Optional(Num),
  bot: Type.Optional(BotCaseSchema),
});

/** A figure that may be NaN in memory: JSON writes it as null. */
const NumOrNull = Type.Union([Num, Type.Null()]);
const Pair = Type.Array(NumOrNull, { minItems: 2, maxItems: 2 });
const BandSchema = Type.Object({ median: NumOrNull, lo: NumOrNull, hi: NumOrNull });
const SeriesFields = {
  scenario: Str, format: Str, producers: Int,
  targetFps: Type.Optional(Num), fragmentBytes: Type.Optional(Num), frameBytes: Type.Optional(Num),
};
const LineFitSchema = Type.Object({
  fixed: Num, slope: Num, fixedIv: Pair, slopeIv: Pair, level: Num, points: Int, rounds: Int, draws: Int, linear: Type.Boolean(),
  residuals: Type.Array(Type.Object({ x: Num, y: Num, lo: NumOrNull, hi: NumOrNull, fitted: Num, residual: Num, within: Type.Boolean() })),
});

/** A sweep's points, fitted laws and crossings (core/sweep.ts; docs/sweeps.md). */
const SweepSchema = Type.Object({
  method: Str,
  memcpyUsPerMiB: NumOrNull,
  points: Type.Array(Type.Object({
    transport: Str, scenario: Str, format: Str, width: Int, height: Int, frameBytes: Num, producers: Int,
    targetFps: Type.Optional(Num), fragmentBytes: Type.Optional(Num), inProcess: Type.Optional(Type.Boolean()), status: Str,
    cpuUsPerFrame: Type.Object({ total: BandSchema, producer: BandSchema, consumer: BandSchema }), fps: BandSchema,
  })),
  sizeLaws: Type.Array(Type.Object({
    transport: Str, ...SeriesFields, side: Type.Union([Type.Literal('total'), Type.Literal('producer'), Type.Literal('consumer')]),
    fit: LineFitSchema, perMiBUs: Num, perMiBIv: Pair, perByteCopyEq: NumOrNull, perByteCopyEqIv: Pair, fixedCopyEqMiB: NumOrNull,
    perByteSpread: NumOrNull, bytesRange: Pair,
  })),
  crossings: Type.Array(Type.Object({
    ...SeriesFields, a: Str, b: Str, bytes: NumOrNull, bytesIv: Pair, crossShare: Num, cheaperBelow: Str, inRange: Type.Boolean(), sentence: Str,
  })),
  fpsLaws: Type.Array(Type.Object({
    transport: Str, ...SeriesFields, fit: LineFitSchema, idleUsPerSecond: Num, idleIv: Pair, perFrameUs: Num, perFrameIv: Pair,
  })),
});

export const RunResultSchema = Type.Object({
  schema: Type.Literal('framebench/run@2'),
  methodology: Type.Integer({ minimum: 2 }),
  framebenchVersion: Str,
  startedAt: Str,
  finishedAt: Str,
  complete: Type.Boolean(),
  provenance: Type.Object({
    argv: Type.Array(Str),
    git: Type.Object({ commit: Type.Union([Str, Type.Null()]), dirty: Type.Union([Type.Boolean(), Type.Null()]) }),
    versions: Type.Record(Str, Type.Union([Str, Type.Null()])),
  }),
  host: Type.Object({ cpuModel: Str, cores: Int, kernel: Str, node: Str, platform: Str, memoryBytes: Num, hostname: Str }),
  rounds: Type.Integer({ minimum: 1 }),
  settings: Type.Object({
    transports: Type.Array(Str),
    scenarios: Type.Array(Str),
    formats: Type.Array(Str),
    resolution: Str,
    fps: Num,
    durationS: Num,
    warmupS: Num,
    warmupMaxS: Type.Optional(Num),
    malloc: Type.Optional(Str),
    producers: Int,
    verify: Str,
    source: Str,
    copyAccounting: Type.Boolean(),
    policy: Type.Union([Type.Literal('block'), Type.Literal('drop')]),
    transportOptions: Type.Record(Str, Type.Record(Str, Type.Unknown())),
    profiling: Type.Union([Str, Type.Null()]),
    inject: Type.Optional(Type.Record(Str, Type.Unknown())),
    sweep: Type.Optional(Type.Object({ resolutions: Type.Array(Str), fps: Type.Array(Num), producers: Type.Array(Int), fragmentBytes: Type.Array(Num) })),
  }),
  skipped: Type.Array(Type.Object({ transport: Str, reason: Str })),
  calibration: CalibrationSchema,
  calibrationRounds: Type.Array(CalibrationSchema, { minItems: 1 }),
  costModel: Type.Optional(Type.Object({
    vcpuHourUsd: Num,
    priceSource: Type.Optional(Str),
    instance: Type.Optional(Str),
    fleetBytesPerSecond: Num,
    fps: Num,
    baseline: Str,
    format: Type.Union([Type.Literal('i420'), Type.Literal('rgba')]),
    width: Int,
    height: Int,
  })),
  ratios: Type.Array(Type.Object({
    group: Str, metric: Str, a: Str, b: Str, n: Int, median: Num, lo: Num, hi: Num, level: Num,
  })),
  results: Type.Array(CaseSchema),
  sweep: Type.Optional(SweepSchema),
}, {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://framebench.dev/schema/run@2.schema.json',
  title: 'framebench run result (framebench/run@2)',
});

let compiled: ReturnType<typeof TypeCompiler.Compile> | null = null;

/** Problems of `o` against run@2, as 'path: message' lines ([] when valid). */
export function run2Problems(o: unknown): string[] {
  compiled ??= TypeCompiler.Compile(RunResultSchema);
  if (compiled.Check(o)) return [];
  return [...compiled.Errors(o)].slice(0, 20).map((e) => `${e.path || '/'}: ${e.message}`);
}

/** The JSON Schema document (what schema/run@2.schema.json holds). */
export function runResultJsonSchema(): TSchema {
  return JSON.parse(JSON.stringify(RunResultSchema)) as TSchema;
}
