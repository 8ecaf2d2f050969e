import type { ErrorCode } from './errors';
import type { Interval } from './robust-stats';
import type { SweepSummary } from './sweep';
import type { BotCaseFigures } from './bot-cost';

/**
 * The versioned result file (`<out>/results.json`). Other tools read these names:
 * change them only with a new schema version.
 */
export const RESULT_SCHEMA = 'framebench/run@2';
/** Result schemas `bench report`, `compare` and the gate read. @1: one window per case, no rounds. */
export const READABLE_SCHEMAS = ['framebench/run@1', 'framebench/run@2'] as const;
export type ResultSchema = (typeof READABLE_SCHEMAS)[number];

/**
 * How figures are measured. Bump it whenever a change makes figures of the same code and
 * machine incomparable with earlier results (what is counted, how rounds fold, where latency
 * starts); `bench compare` and the gate warn when two results differ in it.
 * 1: one window per case (results@1). 2: interleaved rounds, medians with order-statistic
 * intervals, paired ratios, latency from the scheduled send time without back-fill, and by default
 * every consumer reads every payload byte once to check the frame's checksum (docs/checksum.md).
 * 3: the warm-up lasts until the case's processes stop faulting in fresh memory (measure/steady.ts),
 * where version 2 opened every window 0.4 s after start, inside the processes' start-up transient;
 * and the case's processes keep the memory they free (--malloc steady, harness/malloc-env.ts).
 */
export const METHODOLOGY_VERSION = 3;

export interface HostInfo {
  cpuModel: string;
  cores: number;
  kernel: string;
  node: string;
  platform: string;
  memoryBytes: number;
  hostname: string;
}

export interface Calibration {
  /** Median cache-cold memcpy of one frame of the run's first frame size, µs. */
  memcpyUsPerFrame: number;
  /** The same for every frame size in the run, keyed by total bytes carried per frame. */
  memcpyUsByFrameBytes: Record<string, number>;
  /** Bandwidth of that memcpy (bytes read + written counted once: frameBytes / time), GB/s. */
  memcpyGBps: number;
  samples: number;
  /** The buffer set the cold copies rotate over, bytes (allocated and touched before timing). */
  bufferSetBytes: number;
  method: string;
  /** Last-level cache size the set was sized from, bytes, and where it came from. */
  llcBytes?: number;
  /** 'sysfs' (/sys/devices/system/cpu/cpu0/cache), 'getconf' (LEVEL3_CACHE_SIZE: CPUID, as the hypervisor reports it) or 'default' (32 MiB). */
  llcSource?: 'sysfs' | 'getconf' | 'default';
  /** What limited the set: 'cache' (2x the LLC, at least 128 MiB), 'cap' (1 GiB) or 'time' (touching it took the time budget). */
  setLimitedBy?: 'cache' | 'cap' | 'time';
  /** Transparent huge pages mode (/sys/kernel/mm/transparent_hugepage/enabled): 'always', 'madvise', 'never'. */
  thp?: string;
  /** Bytes of the calibration process's memory in huge pages (AnonHugePages) while it measured. */
  hugePageBytes?: number;
  /** CPU to wake a sleeping Node process (two processes, one byte over a pipe, 20 ms apart), µs per wake-up (measure/calibrate-wakeup.ts). */
  wakeupCpuUs?: number;
  /** Median one-way latency of that wake-up, µs. */
  wakeupLatencyUs?: number;
  /** Time to allocate and touch the buffer set, ms: the cost of first-touch page faults on this host. */
  prefaultMs?: number;
  /** Page faults during the timed copies (0 when the set was resident, as it should be). */
  faultsWhileTiming?: number;
  /** Copy of the first frame size between two buffers only (cache-resident when the LLC holds two frames), µs: how cold "cold" was. */
  hotMemcpyUsPerFrame?: number;
  /** Copy of the first frame size rotating over half the set, µs: equal to memcpyUsPerFrame when the set is past the cache. */
  halfSetMemcpyUsPerFrame?: number;
  /** CPU vendor, family, model and stepping (/proc/cpuinfo): host.cpuModel may say only "AMD EPYC". */
  cpu?: string;
  /** Steal and other processes' CPU on the host while the calibration ran. */
  noise?: RoundNoise;
  /**
   * Cache-cold copy bandwidth with every core copying at once (one copier process per core, frame
   * bytes counted once), GB/s: the host's memory-traffic limit; memcpyGBps is one core's.
   */
  allCoreMemcpyGBps?: number;
  /** Copier processes of that measurement (the host's cores). */
  allCoreCopiers?: number;
}

/** The fleet cost model a run was priced with (bench.config.ts `cost`), recorded so reports re-render it as it was. */
export interface RecordedCostModel {
  /** Price of one vCPU for one hour, USD: an assumption. */
  vcpuHourUsd: number;
  /** Where the price comes from (list price, region, date). */
  priceSource?: string;
  /** The instance type the price is for. */
  instance?: string;
  fleetBytesPerSecond: number;
  fps: number;
  baseline: string;
  format: 'i420' | 'rgba';
  width: number;
  height: number;
}

export interface PerSide {
  producer: number;
  consumer: number;
}

export interface CopyFigures {
  /** Interposed memcpy/memmove calls per frame. */
  memcpyCallsPerFrame: PerSide;
  /** Bytes those calls copied, per frame. */
  userBytesPerFrame: PerSide;
  /** (user-space copied bytes + kernel-copied bytes) / frame bytes. */
  framePasses: PerSide;
  /** Bytes masked by the WebSocket protocol as seen on the wire by the consumer, per frame. */
  maskedBytesPerFrame: number;
  /**
   * A transport's server process (redis), counted as its own side (its own copy-count page and
   * /proc/<pid>/io), per frame the consumer completed: never folded into the consumer's figures.
   */
  server?: { memcpyCallsPerFrame: number; userBytesPerFrame: number; kernelBytesPerFrame: number; framePasses: number };
}

export interface CaseResult {
  transport: string;
  scenario: string;
  format: string;
  width: number;
  height: number;
  /** Pixel bytes per frame (3,110,400 for 1080p I420); variable-size: the mean. */
  frameBytes: number;
  producers: number;
  /** Frames generated by the producers over the whole case (warm-up included). */
  framesSent: number;
  /** Frames the consumer received (corrupt ones included). */
  framesReceived: number;
  /** framesSent - framesReceived: dropped by policy or lost. */
  framesDropped: number;
  framesCorrupt: number;
  /** Frames the consumer completed per second in the measurement window. */
  fps: number;
  /** fps * frameBytes / 1e9. */
  gbps: number;
  /** `server`: CPU of a transport's own server process (redis), all its threads; included in `total`. */
  cpuUsPerFrame: PerSide & { server?: number; total: number };
  /** CPU split into user and system time, µs per frame. */
  cpuDetailUsPerFrame: { producerUser: number; producerSystem: number; consumerUser: number; consumerSystem: number };
  /** cpuUsPerFrame.total / calibration memcpy of the same frame size. */
  copyEquivalents: number;
  /** Bytes the kernel copied per frame (/proc/<pid>/io rchar + wchar deltas). */
  kernelBytesPerFrame: PerSide;
  /** Present when /proc/<pid>/io cannot see a side's kernel copies (sendmsg/recvmsg): false for that side. */
  kernelBytesMeasured?: { producer: boolean; consumer: boolean };
  copies: CopyFigures | null;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number; count: number };
  rssPeakBytes: PerSide;
  window: { seconds: number; producerFrames: number; consumerFrames: number };
  /** Where CPU went besides the work (GC, page faults, context switches), per frame and side. */
  runtimePerFrame?: RuntimeFigures;
  /** The warm-up this window had (a steady warm-up: measure/steady.ts); absent for a fixed one. */
  warmup?: WarmupFigures;
  /** Producer and consumer were threads of one process (worker-sab): label it in every table. */
  inProcess?: boolean;
  /** Which masking implementation ran (ws): 'bufferutil', 'js' or 'none'. */
  masking?: string;
  transportStats: { producer: Record<string, number | string>; consumer: Record<string, number | string> };
  status: 'ok' | ErrorCode;
  error?: string;
  /** Latency histogram (HDR, compressed base64) of every sample behind latencyUs: one window's, or all rounds' merged. */
  histogram?: string;
  /** Median and interval over rounds of every per-frame figure, keyed by its dotted path ('cpuUsPerFrame.total'). */
  intervals?: Record<string, Interval>;
  /** Each round's own figures, in round order. */
  rounds?: CaseRound[];
  /** Rounds whose window the host's noise flagged (steal, other processes' CPU). */
  noisyRounds?: number;
  /** This window's host noise (a case folded over rounds has each round's in rounds[i].noise instead). */
  noise?: RoundNoise;
  /** Sweeps over --fps: the frame rate this paced case was asked for (docs/sweeps.md). */
  targetFps?: number;
  /** Sweeps over --fragment-bytes: the WebSocket fragment size of this case. */
  fragmentBytes?: number;
  /** `--source chromium-bot`: the bot page's and its control's own figures per round (core/bot-cost.ts). */
  bot?: BotCaseFigures;
}

/** The values of a sweep's axes (docs/sweeps.md): every combination is measured. */
export interface SweepAxes {
  resolutions: string[];
  fps: number[];
  producers: number[];
  /** Empty: not swept (the transport options' own). */
  fragmentBytes: number[];
}

/** CPU and steal on the whole host during one window, from /proc/stat, beside what the case itself used. */
export interface RoundNoise {
  /** Steal time (the hypervisor ran someone else), % of the host's capacity over the window. */
  stealPct: number;
  /** CPU used by processes other than this case's, % of one core over the window. */
  otherCpuPct: number;
  noisy: boolean;
  reason?: string;
}

/** Per frame, one side: where CPU went besides the work itself (measure/gc-log.ts, process.resourceUsage). */
export interface RuntimeSide {
  /** V8 GC pause time, µs per frame. */
  gcUs: number;
  gcPauses: number;
  minorFaults: number;
  /** The process waited (futex, poll, a blocking read). */
  volCtxSwitches: number;
  /** The process was preempted: something else wanted its core. */
  involCtxSwitches: number;
}

export interface RuntimeFigures {
  producer: RuntimeSide;
  consumer: RuntimeSide;
}

/** How a steady warm-up ended (measure/steady.ts): after `ms` from the flow's start, and why. */
export interface WarmupFigures {
  ms: number;
  ended: 'steady' | 'plateau' | 'cap';
  /** Bytes faulted in as % of bytes moved through the kernel over the last span read. */
  faultPct?: number;
}

/** One round of one case. */
export interface CaseRound {
  round: number;
  status: 'ok' | ErrorCode;
  cpuUsPerFrame: PerSide & { server?: number; total: number };
  copyEquivalents: number;
  fps: number;
  latencyUs: { p50: number; p99: number; count: number };
  frames: number;
  noise?: RoundNoise;
  runtimePerFrame?: RuntimeFigures;
  warmup?: WarmupFigures;
}

/** A paired ratio of one figure between two transports of the same group (scenario/format/size). */
export interface RatioFigure extends Interval {
  group: string;
  metric: 'cpuUsPerFrame.total';
  /** numerator transport */
  a: string;
  /** denominator transport */
  b: string;
}

export interface RunResult {
  schema: ResultSchema;
  /** METHODOLOGY_VERSION of the code that measured it (absent in @1 results: 1). */
  methodology?: number;
  /** How the run was made: command, code, versions (@2). */
  provenance?: {
    argv: string[];
    git: { commit: string | null; dirty: boolean | null };
    versions: Record<string, string | null>;
  };
  /** Rounds measured (@2); each case has one window per round. */
  rounds?: number;
  /** Paired CPU ratios between the transports of each scenario/format/size group (@2). */
  ratios?: RatioFigure[];
  framebenchVersion: string;
  startedAt: string;
  finishedAt: string;
  complete: boolean;
  host: HostInfo;
  settings: {
    transports: string[];
    scenarios: string[];
    formats: string[];
    resolution: string;
    fps: number;
    durationS: number;
    warmupS: number;
    /** Steady warm-up cap (s): the warm-up lasted from warmupS until the processes were steady, at most this (0: fixed). */
    warmupMaxS?: number;
    /** The allocator of the case's processes: 'steady' (glibc's thresholds fixed, memory kept) or 'default'. */
    malloc?: string;
    producers: number;
    /** The consumer's content check: 'checksum' (the default; earlier results defaulted to 'sample'), 'sample' or 'full'. */
    verify: 'checksum' | 'sample' | 'full';
    source: string;
    copyAccounting: boolean;
    /** Backpressure policy (@2). */
    policy?: 'block' | 'drop';
    /** Every transport option given, per transport (@2). */
    transportOptions?: Record<string, Record<string, unknown>>;
    /** Profilers attached to the measured processes (@2): 'perf', 'v8' or none. */
    profiling?: string | null;
    /** The axes of a sweep (a list in --resolution, --fps, --producers or --fragment-bytes). */
    sweep?: SweepAxes;
    /** Present only when a test injected a regression on purpose (FRAMEBENCH_TEST_INJECT). */
    inject?: Record<string, { extraCopy?: boolean; busyUs?: number; flipByte?: boolean; consumerStallMs?: number }>;
  };
  /** Transports of an 'all' selection that cannot run here, and why. */
  skipped: Array<{ transport: string; reason: string }>;
  /** The median of the rounds' calibrations (@1: the run's one calibration). */
  calibration: Calibration;
  /** Each round's own calibration, in round order (@2). */
  calibrationRounds?: Calibration[];
  /** The fleet cost model the run was priced with (absent in older results: the built-in model). */
  costModel?: RecordedCostModel;
  results: CaseResult[];
  /** A sweep's points, fitted cost laws and crossing points (core/sweep.ts), when the run swept an axis. */
  sweep?: SweepSummary;
}
