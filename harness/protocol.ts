import type { BackpressurePolicy, TransportStats } from '../transports/types';
import type { ErrorCode } from './errors';
import type { ProcDelta } from './proc-stats';

/**
 * Control messages between the coordinator (`bench run`) and its producer/consumer
 * processes. They travel over Node's fork() IPC channel, apart from the data path.
 */
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

/** How the consumer starts a hosted producer (transports with a hosted topology). */
export interface HostedLaunch {
  label: string;
  mode: 'fork' | 'thread';
  env: Record<string, string>;
  execArgv: string[];
  execPath?: string;
}

export type ToChild =
  | { t: 'init'; role: 'consumer'; spec: CaseSpec }
  /** Consumer only: start a producer as its own child process or worker thread. */
  | { t: 'host'; launch: HostedLaunch }
  /** Consumer only: pass `msg` on to the hosted producer `label`. */
  | { t: 'relay'; label: string; msg: ToChild }
  | { t: 'init'; role: 'producer'; spec: CaseSpec; producerId: number; address: string }
  | { t: 'start'; t0Ns: number }
  | { t: 'drain'; expected: number[]; timeoutMs: number }
  | { t: 'exit' };

export type FromChild =
  | { t: 'ready'; address?: string }
  | { t: 'done'; producer?: ProducerReport; consumer?: ConsumerReport }
  | { t: 'error'; code: ErrorCode; message: string }
  /** From the consumer: its hosted producer `label` started (pid: its process, or the consumer's for a thread). */
  | { t: 'hosted'; label: string; pid: number }
  /** From the consumer: a message of its hosted producer `label`. */
  | { t: 'relayed'; label: string; msg: FromChild }
  /** From the consumer: its hosted producer `label` ended (clean: exit code 0). */
  | { t: 'hosted-exit'; label: string; clean: boolean; how: string };
