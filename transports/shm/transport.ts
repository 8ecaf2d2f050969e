import { fbError, toFbError } from '../../core/errors';
import type { ErrorHandler, FrameHandler, Loan, OptionSpec, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, Transport } from '../types';
import { defineTransport } from '../define';
import { MAX_RING_BYTES, MIN_RING_BYTES, recordSpan } from './layout';
import { shmNativeUnavailableReason } from './native';
import { RING_CONSUMER_STATS, RingConsumer, type RingRecordHandler } from './consumer';
import { RING_PRODUCER_STATS, RingProducer, type RingLoan } from './producer';
import { cleanStaleSegments } from './segment';

/**
 * Shared-memory ring transports (ring: shm/ring.ts, layout: transports/shm/README.md, docs/ring.md).
 * - `shm`: zero-copy. The receiver's handler gets a view into the mapping; the sender offers
 *   loan()/commit() (write in place; abort() seals the record as padding, which the consumer
 *   skips) and send() (one copy into a loaned slot).
 * - `shm-copy`: the same ring used naively: send() copies the finished frame in, and the
 *   receiver copies each record out into a reused private buffer, releasing the ring slot at once.
 * Address: `<runDir>/ring-<16 hex>.sock`, a unix socket that hands each sender the consumer page
 * (read-only for it) and a sealed region of its own (SCM_RIGHTS); nothing is named in /dev/shm. The socket is removed on close, exit,
 * SIGINT/SIGTERM/SIGHUP, with the run directory, or by a sender that finds the receiver dead.
 * Options: SHM_OPTIONS below.
 */

/** A 4K RGBA frame (33,177,600 B + 64 B header) fits; the default ring then holds three. */
const SHM_MAX_FRAME_BYTES = 34 * 1024 * 1024;
const MiB = 1024 * 1024;

const SHM_OPTIONS = [
  { name: 'ringBytes', type: 'number', min: MIN_RING_BYTES, max: MAX_RING_BYTES, help: 'receiver: ring memory in bytes, split evenly between the producers of the run (each producer\'s region holds at least 3 frames of maxFrameBytes; rounded up to 4 KiB) (default: 6 frames of maxFrameBytes per producer, at least 1 MiB: docs/ring.md, "How big a ring")' },
  { name: 'spin', type: 'number', min: 0, max: 1e7, default: 0, help: 'both ends: bounded re-checks of the ring before sleeping in the futex' },
  { name: 'copyOut', type: 'boolean', default: false, help: 'receiver: copy each frame out of shared memory before the handler sees it (producers cannot change it after it is checked; docs/ring.md)' },
  { name: 'wake', type: 'string', default: 'eventfd', help: "receiver: how the consumer sleeps: 'eventfd' (each producer writes an eventfd of its own, polled by the consumer's event loop: one wake-up per frame) or 'thread' (a waiter thread in futex_waitv wakes the event loop: two) (docs/ring.md)" },
  { name: 'yieldAfterWake', type: 'boolean', default: true, help: 'sender: after waking a sleeping consumer, yield the CPU (sched_yield) so a consumer the kernel put on this CPU runs at once, not after the rest of the producer\'s time slice (docs/ring.md, "Yielding after a wake-up")' },
  { name: 'eventLoopDelay', type: 'boolean', default: false, help: 'receiver: sample its event-loop delay (perf_hooks.monitorEventLoopDelay) into the loopDelay* stats; a separate pass, as the sampling costs CPU (docs/ring.md)' },
] as const satisfies readonly OptionSpec[];

/** A number option as the ring takes it: whole. */
const whole = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.floor(v));

/** shm-copy: private copies a handler may hold at once before records wait in the ring. */
const MAX_HELD_COPIES = 4;

/**
 * One producer's region when the run gives `ringBytes` for the ring: an even share of it, at
 * least three records of maxFrameBytes, rounded up to 4 KiB. A region is memory each producer
 * and the consumer fault in once (17 µs a page on the VMs this was built on): with 64 MiB for
 * each of 4 producers, faulting 256 MiB put the consumer ~1 s behind at the start of a
 * multi-producer case; shared, it is the 64 MiB of one ring.
 */
export function regionBytes(ringBytes: number, producers: number, maxFrameBytes: number): number {
  const share = Math.ceil(ringBytes / Math.max(1, producers) / 4096) * 4096;
  const three = Math.ceil((3 * recordSpan(Math.max(0, maxFrameBytes))) / 4096) * 4096;
  return Math.min(MAX_RING_BYTES, Math.max(MIN_RING_BYTES, share, Math.min(three, Math.ceil(ringBytes / 4096) * 4096)));
}

/** Frames of maxFrameBytes each producer's region holds when the run does not set ringBytes. */
export const DEFAULT_REGION_FRAMES = 6;

/**
 * A producer's region when the run does not set ringBytes: six records of maxFrameBytes (at least
 * 1 MiB, rounded up to 4 KiB), so that the ring's working set is a few frames, like the producers'
 * reused buffers on every other transport. A larger ring leaves each page untouched for longer
 * (64 MiB at 30 fps of 1080p I420: 0.7 s), and on the VMs this was built on, touching memory left
 * alone for more than ~0.5 s costs far more than touching memory in use: shm-c's realtime 1080p
 * I420 CPU per frame was ~500-650 µs with regions of 10-40 MiB, 2,656 µs with 64 MiB and 7,423 µs
 * with 128 MiB (docs/ring.md, "How big a ring").
 */
export function defaultRingBytes(maxFrameBytes: number): number {
  const frames = DEFAULT_REGION_FRAMES * recordSpan(Math.max(0, maxFrameBytes));
  return Math.min(MAX_RING_BYTES, Math.max(MiB, Math.ceil(frames / 4096) * 4096));
}

class ShmReceiver implements Receiver {
  readonly address: string;
  private closed = false;
  private readonly pool: Uint8Array[] = [];

  constructor(private readonly ring: RingConsumer, private readonly copyOut: boolean) {
    this.address = ring.name;
  }

  start(handler: FrameHandler): void {
    this.ring.start(this.copyOut ? this.copying(handler) : handler);
  }

  /**
   * shm-copy: copy out into a pooled private buffer, free the ring slot, then deliver. At most
   * MAX_HELD_COPIES copies are out with the handler; records that arrive beyond that wait in the
   * ring (in order) until a copy is released, so a handler that holds frames fills the ring and
   * the producers feel backpressure, instead of the consumer allocating a copy per frame.
   */
  private copying(handler: FrameHandler): RingRecordHandler {
    const waiting: Array<{ payload: Uint8Array; release: () => void }> = [];
    let out = 0;
    const deliver = (payload: Uint8Array, releaseRecord: () => void): void => {
      let buf = this.pool.pop();
      if (!buf || buf.byteLength < payload.byteLength) buf = new Uint8Array(payload.byteLength);
      const own = buf;
      const view = own.subarray(0, payload.byteLength);
      view.set(payload);
      releaseRecord();
      out++;
      let done = false;
      handler(view, () => {
        if (done) return;
        done = true;
        out--;
        this.pool.push(own);
        if (waiting.length > 0) queueMicrotask(drain);
      });
    };
    const drain = (): void => {
      while (waiting.length > 0 && out < MAX_HELD_COPIES && !this.closed) {
        const next = waiting.shift() as { payload: Uint8Array; release: () => void };
        deliver(next.payload, next.release);
      }
    };
    return (payload, release) => {
      if (out >= MAX_HELD_COPIES || waiting.length > 0) waiting.push({ payload, release });
      else deliver(payload, release);
    };
  }

  onError(handler: ErrorHandler): void {
    this.ring.onError(handler);
  }

  setWindow(openNs: number, closeNs: number): void {
    this.ring.statsWindow(openNs, closeNs);
  }

  stats(): StatsOf<typeof RING_CONSUMER_STATS> {
    return this.ring.stats();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ring.close();
    this.pool.length = 0;
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A ring loan as the Sender contract has it (commit() as a promise). One small object per frame,
 * no closures: the paced producer's per-frame costs are mostly such bookkeeping (docs/ring.md).
 */
class ShmLoan implements Loan {
  readonly view: Uint8Array;
  constructor(private readonly l: RingLoan) {
    this.view = l.view;
  }
  commit(): Promise<void> {
    try {
      this.l.commit();
      return RESOLVED;
    } catch (e) {
      return Promise.reject(toFbError(e));
    }
  }
  abort(): void {
    this.l.abort();
  }
}

function senderLoan(l: RingLoan | null): Loan | null {
  return l ? new ShmLoan(l) : null;
}

class ShmSender implements Sender {
  private closed = false;

  constructor(private readonly ring: RingProducer, zeroCopy: boolean) {
    if (!zeroCopy) this.loan = undefined;
  }

  send(frame: Uint8Array): Promise<boolean> {
    return this.ring.send(frame);
  }

  loan?: (bytes: number) => Promise<Loan | null> = (bytes) => this.ring.loan(bytes).then(senderLoan);

  onError(handler: ErrorHandler): void {
    this.ring.onError(handler);
  }

  stats(): StatsOf<typeof RING_PRODUCER_STATS> {
    return this.ring.stats();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ring.close();
  }
}

/** Segments whose creating process is gone (both ends killed): nobody else can unlink them. */
function cleanupOrphans(): string[] {
  try {
    return cleanStaleSegments();
  } catch {
    return []; // no native addon: this build made no segment
  }
}

function makeTransport(name: 'shm' | 'shm-copy', zeroCopy: boolean, description: string): Transport {
  return defineTransport({
    name,
    description,
    capabilities: { zeroCopy },
    maxFrameBytes: SHM_MAX_FRAME_BYTES,
    options: SHM_OPTIONS,
    stats: { receiver: RING_CONSUMER_STATS, sender: RING_PRODUCER_STATS },
    rawInput: { grammar: 'shm-ring', target: (address) => ({ kind: 'segment', name: address }) },
    unavailableReason: () => {
      const why = shmNativeUnavailableReason();
      return why === null ? null : `${why} (build it with \`npm run build:native\`)`;
    },
    cleanupOrphans,

    async createReceiver(opts: ReceiverOptions, o): Promise<Receiver> {
      const asked = whole(o.ringBytes);
      const ringBytes = asked === undefined ? defaultRingBytes(opts.maxFrameBytes) : regionBytes(asked, opts.producers, opts.maxFrameBytes);
      const spin = whole(o.spin);
      if (recordSpan(opts.maxFrameBytes) > ringBytes && asked !== undefined) {
        throw fbError('FB_ERR_FRAME_TOO_LARGE', `maxFrameBytes ${opts.maxFrameBytes} does not fit a ${ringBytes} B ring (option ringBytes)`);
      }
      if (o.wake !== 'eventfd' && o.wake !== 'thread') throw fbError('FB_ERR_CONFIG', `${name}: option wake must be 'eventfd' or 'thread', got ${JSON.stringify(o.wake)}`);
      const ring = new RingConsumer({ ringBytes, maxRecordBytes: opts.maxFrameBytes, spin, dir: opts.runDir, eventLoopDelay: o.eventLoopDelay === true, wake: o.wake });
      return new ShmReceiver(ring, !zeroCopy || o.copyOut === true);
    },

    async openSender(address: string, opts: SenderOptions, o): Promise<Sender> {
      const spin = whole(o.spin);
      const ring = new RingProducer(address, { policy: opts.policy, spin, producerId: opts.producerId, maxRecordBytes: opts.maxFrameBytes, yieldAfterWake: o.yieldAfterWake !== false });
      return new ShmSender(ring, zeroCopy);
    },
  });
}

export const shmTransport: Transport = makeTransport(
  'shm',
  true,
  'POSIX shared-memory ring (native futex wake-ups): frames written in place via loan()/commit(), read in place',
);

export const shmCopyTransport: Transport = makeTransport(
  'shm-copy',
  false,
  'the same shared-memory ring used naively: one copy in on send, one copy out on receive',
);
