import { getTransport } from '../transports/registry';
import type { HostChannel, Sender } from '../transports/types';
import { nowNs, sleepUntilNs } from '../core/clock';
import { HEADER_BYTES } from '../core/frame';
import type { CaseSpec, ProducerReport } from '../core/case';
import { makeSources } from '../sources/select';
import { threadCpu } from '../measure/thread-stats';
import { MeasureWindow } from '../measure/window';

/** Reused send buffers: a frame buffer is refilled only after its previous send resolved. */
const POOL = 3;

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Frames before this sequence number are left intact by the flipByte injection. */
const FLIP_FROM_SEQ = 5;

/**
 * Injected fault (FRAMEBENCH_TEST_INJECT `<t>:flipByte`): after the frame is filled and
 * checksummed, one payload byte at a pseudo-random offset (a different one each frame, anywhere
 * in the payload) is changed, in every frame from seq 5 on. The consumer must report them corrupt.
 */
function flipByte(frame: Uint8Array, seq: number): void {
  if (seq < FLIP_FROM_SEQ || frame.byteLength <= HEADER_BYTES) return;
  let h = Math.imul(seq + 1, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  frame[HEADER_BYTES + ((h >>> 0) % (frame.byteLength - HEADER_BYTES))] ^= 0xa5;
}

/**
 * The injected regression: burns `us` of this thread's CPU time (not of wall time: a spin timed by the
 * clock burns less CPU the more the process is preempted, so on a loaded machine the plant's size varied
 * with the load, and CI saw a +186% plant's repeats spread wider than the change).
 */
function busyWait(us: number): void {
  const cpuUs = (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const until = cpuUs() + us;
  let x = 0;
  while (cpuUs() < until) {
    for (let i = 0; i < 2000; i++) x = (x * 31 + i) | 0; // ~1 µs of work between clock reads
  }
  if (x === 0.5) process.stdout.write(''); // (never: keeps the loop from being optimised away)
}

/**
 * One producer process's life: open the transport, then from t0 generate frames
 * (paced at fps or as fast as backpressure allows) until the window closes.
 * Every frame is written whole by the source (into a reused buffer, or in place into
 * the transport's memory when it offers loan()), stamped with its send time before
 * that write starts.
 */
export class Producer {
  private sender!: Sender;
  private fatal: Error | null = null;
  private window: MeasureWindow | null = null;
  private windowStart = Infinity;
  private stopAt = Infinity;

  /** `host`: in a hosted thread, what the consumer shared with it (harness/child.ts). */
  constructor(private readonly spec: CaseSpec, private readonly producerId: number, private readonly host?: HostChannel) {}

  async open(address: string): Promise<void> {
    const t = getTransport(this.spec.transport);
    this.sender = await t.openSender(address, {
      producerId: this.producerId,
      maxFrameBytes: this.spec.maxFrameBytes,
      policy: this.spec.policy,
      options: this.spec.transportOptions,
      host: this.host,
    });
    this.sender.onError((e) => {
      this.fatal = this.fatal ?? e;
    });
  }

  /** Runs the case; resolves with the report, or rejects on a transport error. */
  async run(t0Ns: number): Promise<ProducerReport> {
    const spec = this.spec;
    const sources = makeSources(spec, this.producerId);
    if (spec.steadyWarmupMaxMs === undefined) {
      const open = t0Ns + spec.warmupMs * 1e6;
      this.setWindow(open, open + spec.durationMs * 1e6);
    }
    const useLoan = typeof this.sender.loan === 'function' && !spec.inject?.extraCopy;
    const maxBytes = Math.max(...sources.map((s) => s.spec.totalBytes));
    const pool = useLoan ? [] : Array.from({ length: POOL }, () => Buffer.alloc(maxBytes));
    const scratch = spec.inject?.extraCopy ? Buffer.alloc(maxBytes) : null;
    const pending: Array<Promise<void> | null> = new Array(POOL).fill(null);
    const intervalNs = spec.pacing === 'fps' ? 1e9 / spec.fps : 0;
    let generated = 0;
    let accepted = 0;
    let dropped = 0;
    let lastYield = nowNs();
    const onSent = (ok: boolean): void => {
      if (ok) accepted++;
      else dropped++;
    };
    const onFail = (e: unknown): void => {
      this.fatal = this.fatal ?? (e as Error);
    };

    await sleepUntilNs(t0Ns);
    for (let seq = 0; ; seq++) {
      // One clock read per step (each is an allocation and a call: per-frame costs are what
      // the paced figures are made of, docs/ring.md); it is re-read after every wait.
      let now = nowNs();
      let scheduled = 0;
      if (intervalNs > 0) {
        scheduled = t0Ns + seq * intervalNs;
        if (scheduled >= this.stopAt) break;
        if (scheduled > now) {
          await sleepUntilNs(scheduled);
          lastYield = now = nowNs();
        }
      }
      // Unpaced, or paced but behind (catching up after a stall): a loop of sends that
      // resolve at once would never give the event loop a turn, so timers (window edges),
      // control messages and transports' own deferred work (zeromq releases the buffers
      // libzmq is done with from the loop) would wait for the whole burst.
      if (now - lastYield > 2e6) {
        await yieldToLoop();
        lastYield = now = nowNs();
      }
      if (this.fatal) throw this.fatal;
      if (now >= this.stopAt) break;
      const source = sources[seq % sources.length];
      const bytes = source.spec.totalBytes;
      const sendStart = now;
      if (useLoan) {
        const loan = await (this.sender.loan as NonNullable<Sender['loan']>)(bytes);
        if (loan === null) {
          dropped++;
        } else {
          source.fill(loan.view, seq, sendStart, scheduled);
          if (spec.inject?.flipByte) flipByte(loan.view.subarray(0, bytes), seq);
          if (spec.inject?.busyUs) busyWait(spec.inject.busyUs);
          await loan.commit();
          accepted++;
        }
      } else {
        const slot = seq % POOL;
        const prev = pending[slot];
        if (prev) await prev;
        const buf = pool[slot].subarray(0, bytes);
        if (scratch) {
          // injected regression: build the frame elsewhere, then copy it once more
          source.fill(scratch, seq, sendStart, scheduled);
          buf.set(scratch.subarray(0, bytes));
        } else {
          source.fill(buf, seq, sendStart, scheduled);
        }
        if (spec.inject?.flipByte) flipByte(buf, seq);
        if (spec.inject?.busyUs) busyWait(spec.inject.busyUs);
        pending[slot] = this.sender.send(buf).then(onSent, onFail);
      }
      generated++;
      const window = this.window;
      if (window?.isOpen && sendStart >= this.windowStart) window.frame();
    }
    await Promise.all(pending.filter(Boolean));
    if (this.fatal) throw this.fatal;
    return {
      producerId: this.producerId,
      framesGenerated: generated,
      framesAccepted: accepted,
      framesDroppedByPolicy: dropped,
      window: (this.window ?? new MeasureWindow(0, 0)).figures(),
      transportStats: this.sender.stats(),
    };
  }

  /**
   * The measurement window: opens at openNs, and the producer stops at closeNs. Until it is set
   * (a steady warm-up: the coordinator's 'window' message) the producer keeps warming up.
   */
  setWindow(openNs: number, closeNs: number): void {
    if (this.window) return;
    this.windowStart = openNs;
    this.stopAt = closeNs;
    const inProcess = getTransport(this.spec.transport).capabilities.inProcess;
    this.window = new MeasureWindow(openNs, closeNs, inProcess ? { cpu: threadCpu, noCopies: true } : undefined);
  }

  async close(): Promise<void> {
    if (this.sender) await this.sender.close();
  }
}
