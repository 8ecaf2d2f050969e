/**
 * What one measured case is, and what its producer and consumer processes report about it.
 * Plain data: the coordinator sends a CaseSpec to every child and gets the reports back over
 * the control channel (harness/protocol.ts).
 */

/** What a sender does when the consumer is behind: wait for room, or drop the frame (counted). */
export type BackpressurePolicy = 'block' | 'drop';

/**
 * Stats with one meaning whichever transport reports them, typed here: the only transport
 * stats the figures read. A transport that has one reports it under this name and type
 * (its declared stats shape, transports/types.ts, must agree or it does not compile).
 */
export interface SharedStats {
  /** Receiver: payload bytes that arrived masked (WebSocket); reported per frame in `copies`. */
  readonly maskedBytes?: number;
  /** Which masking implementation ran (WebSocket): 'node', 'bufferutil', 'js' or 'none'. */
  readonly masking?: string;
  /** Consumer, --verify checksum: which checksum implementation ran ('native' or 'js'). */
  readonly checksumImpl?: string;
  /** Consumer, --verify checksum: frames whose every payload byte was checked against the header. */
  readonly checksumFrames?: number;
}

/**
 * What one end of a transport reports, in the result under `transportStats`: the counters its
 * transport declares (`Transport.stats`), shown as they are, and the shared ones above.
 */
export type TransportStats = SharedStats & Readonly<Record<string, number | string>>;

/** CPU and I/O counters of one process over a window (µs, bytes). */
export interface ProcDelta {
  userUs: number;
  systemUs: number;
  rchar: number;
  wchar: number;
  maxRssBytes: number;
  /** Minor page faults (process.resourceUsage), this process's. */
  minorFaults?: number;
  /** Context switches: voluntary (it waited) and involuntary (it was preempted). */
  volCtxSwitches?: number;
  involCtxSwitches?: number;
}

export type VerifyMode = 'checksum' | 'sample' | 'full';
export const VERIFY_MODES: readonly VerifyMode[] = ['checksum', 'sample', 'full'];

/** Test-only injections (FRAMEBENCH_TEST_INJECT, harness/runner.ts parseInject). */
export interface InjectSpec {
  extraCopy?: boolean;
  busyUs?: number;
  flipByte?: boolean;
  /**
   * The consumer blocks this many ms, once, on the 11th frame of its window (after verifying it,
   * before its latency is taken): the latency stall test (test/latency-stall.test.ts).
   */
  consumerStallMs?: number;
}

export interface CaseSpec {
  caseId: string;
  transport: string;
  scenario: string;
  pacing: 'fps' | 'max';
  format: 'i420' | 'rgba';
  /** Frame sizes the producer cycles through ([w, h] pairs; one entry = fixed size). */
  sizes: Array<[number, number]>;
  fps: number;
  warmupMs: number;
  durationMs: number;
  /**
   * Set: the warm-up lasts at least warmupMs and until the case's processes stop faulting in fresh
   * memory (measure/steady.ts), at most this long; the coordinator then announces the window
   * ('window' message). Unset: the window opens at t0 + warmupMs on every side.
   */
  steadyWarmupMaxMs?: number;
  producers: number;
  /**
   * The consumer's content check: 'checksum' reads every payload byte against the header's
   * checksum (docs/checksum.md), 'sample' one stamp per 4 KiB page, 'full' compares every byte
   * with the source's own data.
   */
  verify: VerifyMode;
  /** 'synthetic', 'fixture:<name-or-dir>' or 'chromium' (live: the browser is the producer) */
  source: string;
  runDir: string;
  maxFrameBytes: number;
  policy: BackpressurePolicy;
  transportOptions: Record<string, unknown>;
  /**
   * Test-only: extra work injected per frame to prove the gate sees it, or a fault to prove the
   * check sees it (flipByte: one payload byte changed after the frame is filled, from seq 5 on).
   */
  inject?: InjectSpec;
}

export interface WindowFigures {
  /** Measured length of this process's window, s. */
  seconds: number;
  frames: number;
  proc: ProcDelta;
  /** Copy counters delta (null when copy accounting is off). */
  copies: { calls: number; bytes: number; bucketCalls: number[]; bucketBytes: number[] } | null;
  /** CPU (µs, all threads) of the transport's server process over this window (redis). */
  serverCpuUs?: number;
  /** Bytes the kernel copied for that server process (/proc/<pid>/io rchar + wchar delta). */
  serverKernelBytes?: number;
  /** Copy counters delta of that server process (its own page), when copy accounting is on. */
  serverCopies?: { calls: number; bytes: number; bucketCalls: number[]; bucketBytes: number[] };
  /**
   * The whole host's CPU time over this window: deltas of /proc/stat's aggregate `cpu` line, in
   * USER_HZ ticks (measure/host-noise.ts). Read by the consumer only (its window is the case's).
   */
  hostCpuTicks?: HostCpuTicks;
  /** V8 garbage-collection pauses of this process that started in the window (measure/gc-log.ts). */
  gc?: { count: number; us: number };
}

/** /proc/stat `cpu` line fields (USER_HZ ticks, summed over all CPUs); guest time is inside user/nice. */
export interface HostCpuTicks {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface ProducerReport {
  producerId: number;
  framesGenerated: number;
  framesAccepted: number;
  framesDroppedByPolicy: number;
  window: WindowFigures;
  transportStats: TransportStats;
  /** Live mode: the browser sends on its own clock, so the consumer's window count stands for both sides. */
  windowFramesFromConsumer?: boolean;
}

export interface ConsumerReport {
  framesReceived: number;
  framesCorrupt: number;
  outOfOrder: number;
  gaps: number;
  receivedPerProducer: number[];
  firstProblem: string | null;
  histogram: string;
  window: WindowFigures;
  transportStats: TransportStats;
  drained: boolean;
}
