import type { CaseSpec, ConsumerReport, ProducerReport } from '../core/case';
import type { ErrorCode } from '../core/errors';

/**
 * Control messages between the coordinator (`bench run`) and its producer/consumer
 * processes. They travel over Node's fork() IPC channel, apart from the data path.
 */

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
  /**
   * The measurement window, when the coordinator decides it (CaseSpec.steadyWarmupMaxMs: after the
   * warm-up reached a steady state). Without it each side opens at t0 + warmupMs.
   */
  | { t: 'window'; openNs: number; closeNs: number }
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
