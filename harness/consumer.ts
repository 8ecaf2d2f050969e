import { getTransport } from '../transports/registry';
import type { HostChannel, Receiver } from '../transports/types';
import { nowNs, sleep } from '../core/clock';
import { FRAME_MAGIC, FRAME_VERSION, HEADER_BYTES, emptyHeader, readHeader } from '../core/frame';
import { encode, newHistogram, recordUs } from '../core/histogram';
import type { CaseSpec, ConsumerReport } from '../core/case';
import { makeConsumerVerifier, type ConsumerVerifier } from './checksum-verifier';
import { threadCpu } from '../measure/thread-stats';
import { MeasureWindow } from '../measure/window';
import { SERVER_PAGE_ENV } from './copy-hooks';

/** The stall injection (inject.consumerStallMs) blocks on the window's frame of this index (0-based). */
const STALL_AT_FRAME = 10;

/**
 * The consumer process: creates the receiver, and for every frame checks the header,
 * the order per producer and the content (harness/checksum-verifier.ts: by default every
 * payload byte against the header's checksum), then records the latency
 * from the frame's scheduled send time (paced) or send start (saturate) to this moment
 * (verified); see onFrame and docs/architecture.md, "Latency".
 */
export class Consumer {
  private receiver!: Receiver;
  private readonly verifier: ConsumerVerifier;
  private readonly header = emptyHeader();
  private readonly nextSeq: number[];
  readonly received: number[];
  private corrupt = 0;
  private outOfOrder = 0;
  private gaps = 0;
  private firstProblem: string | null = null;
  private readonly hist = newHistogram();
  private window: MeasureWindow | null = null;
  private windowStart = Infinity;
  private windowEnd = Infinity;
  /** Latency samples recorded (frames of the window); the stall injection counts them. */
  private windowSamples = 0;
  /** Test-only (inject.consumerStallMs): ms to block, once, at frame STALL_AT_FRAME of the window. */
  private stallMs: number;
  fatal: Error | null = null;
  private onFatal: ((e: Error) => void) | null = null;

  /** `host`: the channel to the producers this process hosts (hosted topologies), see harness/child.ts. */
  constructor(private readonly spec: CaseSpec, private readonly host?: HostChannel) {
    this.verifier = makeConsumerVerifier(spec);
    this.nextSeq = new Array(spec.producers).fill(0);
    this.received = new Array(spec.producers).fill(0);
    this.stallMs = spec.inject?.consumerStallMs ?? 0;
  }

  async open(): Promise<string> {
    const t = getTransport(this.spec.transport);
    const serverPage = process.env[SERVER_PAGE_ENV];
    this.receiver = await t.createReceiver({
      runDir: this.spec.runDir,
      maxFrameBytes: this.spec.maxFrameBytes,
      producers: this.spec.producers,
      policy: this.spec.policy,
      options: this.spec.transportOptions,
      host: this.host,
      // with copy accounting, a server the receiver starts counts into its own page (harness/copy-hooks.ts)
      ...(serverPage ? { serverEnv: { FRAMEBENCH_COPYCOUNT: serverPage } } : {}),
    });
    this.receiver.onError((e) => {
      this.fatal = this.fatal ?? e;
      this.onFatal?.(e);
    });
    this.receiver.start((frame, release) => {
      this.onFrame(frame);
      release();
    });
    return this.receiver.address;
  }

  /** Called on a fatal transport error (peer gone, protocol). */
  whenFatal(cb: (e: Error) => void): void {
    this.onFatal = cb;
    if (this.fatal) cb(this.fatal);
  }

  start(t0Ns: number): void {
    // a steady warm-up: the coordinator announces the window ('window' message, setWindow)
    if (this.spec.steadyWarmupMaxMs === undefined) {
      const open = t0Ns + this.spec.warmupMs * 1e6;
      this.setWindow(open, open + this.spec.durationMs * 1e6);
    }
  }

  /** Opens the measurement window at openNs, closes it at closeNs (monotonic). */
  setWindow(openNs: number, closeNs: number): void {
    if (this.window) return;
    this.windowStart = openNs;
    this.windowEnd = closeNs;
    this.receiver.setWindow?.(openNs, closeNs);
    // in-process transports: this thread's CPU, not the process's (the producers are threads of it)
    const inProcess = getTransport(this.spec.transport).capabilities.inProcess;
    this.window = new MeasureWindow(this.windowStart, this.windowEnd, {
      ...(inProcess ? { cpu: threadCpu, noCopies: true } : {}),
      serverPid: this.receiver.serverPid,
      serverCopyPage: process.env[SERVER_PAGE_ENV],
      hostCpu: true, // the case's reference window: the host's noise is read here (measure/host-noise.ts)
    });
  }

  private problem(reason: string): void {
    this.corrupt++;
    if (this.firstProblem === null) this.firstProblem = reason;
  }

  private onFrame(frame: Uint8Array): void {
    const h = this.header;
    if (frame.byteLength < HEADER_BYTES) return this.problem(`frame of ${frame.byteLength} B is shorter than the header`);
    readHeader(new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES), h);
    if (h.magic !== FRAME_MAGIC || h.version !== FRAME_VERSION || h.headerBytes !== HEADER_BYTES) {
      return this.problem('bad frame header (magic/version)');
    }
    if (h.payloadBytes + HEADER_BYTES !== frame.byteLength) {
      return this.problem(`length mismatch: header says ${h.payloadBytes + HEADER_BYTES} B, got ${frame.byteLength} B`);
    }
    const p = h.producerId;
    if (p >= this.received.length) return this.problem(`unknown producer id ${p}`);
    const expected = this.nextSeq[p];
    if (h.seq < expected) {
      this.outOfOrder++;
      return this.problem(`producer ${p}: sequence ${h.seq} after ${expected - 1} (out of order or duplicate)`);
    }
    if (h.seq > expected) this.gaps += h.seq - expected;
    this.nextSeq[p] = h.seq + 1;
    const bad = this.verifier.verify(frame, p, h.seq);
    this.received[p]++;
    if (bad) return this.problem(`producer ${p} seq ${h.seq}: ${bad}`);
    // Latency (docs/architecture.md, "Latency"). The clock starts at the frame's scheduled send
    // time when it has one (paced: the pacer's slot, so a stall's delay shows in every frame it
    // held up, each once, with no synthetic back-fill), else at its send start (saturate: stamped
    // before the frame is filled). It stops here: the frame has passed the header, order and
    // content checks above and is not yet released back to the transport. Frames whose clock
    // started inside the measurement window are recorded.
    const startNs = h.scheduledNs > 0 ? h.scheduledNs : h.sendTimeNs;
    const inWindow = startNs >= this.windowStart && startNs < this.windowEnd;
    if (inWindow && this.stallMs > 0 && this.windowSamples === STALL_AT_FRAME) this.stall();
    const now = nowNs();
    if (inWindow) {
      recordUs(this.hist, (now - startNs) / 1e3);
      this.windowSamples++;
    }
    this.window?.frame();
  }

  /** Test-only (inject.consumerStallMs): blocks this thread, without spinning, once. */
  private stall(): void {
    const ms = this.stallMs;
    this.stallMs = 0;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }

  /** Waits until every accepted frame arrived (or the timeout), then reports. */
  async drain(expected: number[], timeoutMs: number): Promise<ConsumerReport> {
    const deadline = nowNs() + timeoutMs * 1e6;
    let drained = false;
    while (!this.fatal) {
      drained = expected.every((n, i) => this.received[i] >= n);
      if (drained || nowNs() > deadline) break;
      await sleep(5);
    }
    if (this.fatal) throw this.fatal;
    const total = this.received.reduce((a, b) => a + b, 0);
    return {
      framesReceived: total,
      framesCorrupt: this.corrupt,
      outOfOrder: this.outOfOrder,
      gaps: this.gaps,
      receivedPerProducer: [...this.received],
      firstProblem: this.firstProblem,
      histogram: encode(this.hist),
      window: (this.window ?? new MeasureWindow(0, 0)).figures(),
      transportStats: { ...this.receiver.stats(), ...this.verifier.stats() },
      drained,
    };
  }

  async close(): Promise<void> {
    if (this.receiver) await this.receiver.close();
  }
}
