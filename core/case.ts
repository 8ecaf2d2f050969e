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
  producers: number;
  verify: 'sample' | 'full';
  /** 'synthetic', 'fixture:<name-or-dir>' or 'chromium' (live: the browser is the producer) */
  source: string;
  runDir: string;
  maxFrameBytes: number;
  policy: BackpressurePolicy;
  transportOptions: Record<string, unknown>;
  /** Test-only: extra work injected per frame to prove the gate sees it. */
  inject?: { extraCopy?: boolean; busyUs?: number };
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
