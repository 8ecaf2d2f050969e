import { randomBytes } from 'node:crypto';
import { fbError, type FbError } from '../core/errors';
import type { ErrorHandler, FrameHandler, Loan, OptionSpec, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, StatsShape } from './types';
import type { HostChannel } from './host-ports';
import { ErrorSink, frameOverLimit, frameTooLarge } from './common';
import { defineTransport } from './define';

/**
 * Producer and consumer as worker threads of ONE process (topology 'consumer-threads'),
 * frames in a SharedArrayBuffer ring per producer, signalled with Atomics.notify and
 * Atomics.waitAsync (the async form: both threads keep their event loops running for the
 * window timers and control messages, and the conformance suite runs both ends in one thread).
 *
 * Ring (one SharedArrayBuffer per producer): a 64-byte control block of Int32s, then `cap`
 * data bytes. Control: [0] writePos, [1] readPos (byte offsets in [0, cap)), [2] frames
 * written, [3] frames read (monotonic; equal = empty, so writePos == readPos is unambiguous),
 * [4] flags (1 = receiver closed, 2 = sender closed). A record is [u32 length][u32 magic]
 * [frame], padded to 8 bytes, never split: a record that does not fit before the end is
 * preceded by a WRAP marker (or by < 8 bytes of tail) and starts at 0.
 * The producer writes in place through loan()/commit() (zero-copy: the consumer gets a view of
 * the ring) or copies with send(); abort() gives a loan back unpublished. The receiver shares
 * the rings under its address on the host channel (ReceiverOptions.host, transports/host-ports.ts):
 * hosted producer threads get them in their workerData, and their senders in SenderOptions.host.
 * Nothing outside the process: the memory goes with the process (or when both ends close).
 */
const PREFIX = 'worker-sab:';
const CTRL_BYTES = 64;
const REC_HEADER = 8;
const MAGIC = 0x46425342; // 'FBSB'
const WRAP = 0xffffffff;
const W = 0;
const R = 1;
const FW = 2;
const FR = 3;
const FLAGS = 4;
const RECEIVER_CLOSED = 1;
const SENDER_CLOSED = 2;
const WAIT_MS = 250;

const align8 = (n: number): number => (n + 7) & ~7;

const SAB_OPTIONS = [
  { name: 'ringBytes', type: 'number', min: 0, max: 2 ** 30, help: 'receiver: bytes of each producer\'s ring; at least two frames of maxFrameBytes (the default)' },
] as const satisfies readonly OptionSpec[];

const SAB_RECEIVER_STATS = { framesReceived: 'number', bytesReceived: 'number', rings: 'number', ringBytes: 'number', waits: 'number' } as const satisfies StatsShape;
const SAB_SENDER_STATS = { framesSent: 'number', framesDropped: 'number', bytesCopied: 'number', spaceWaits: 'number' } as const satisfies StatsShape;

/** Atomics.waitAsync (Node >= 16; not in this TypeScript lib). */
type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync: WaitAsync | undefined = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync?.bind(Atomics);

/** Ring capacity for frames of at most maxFrameBytes: two of them (double buffering). */
function ringBytesFor(maxFrameBytes: number, option: number | undefined): number {
  const asked = option ?? 0;
  return align8(Math.max(asked, 2 * align8(maxFrameBytes + REC_HEADER) + 8));
}

class Ring {
  readonly ctrl: Int32Array;
  readonly data: Uint8Array;
  readonly dv: DataView;
  readonly cap: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.ctrl = new Int32Array(sab, 0, CTRL_BYTES / 4);
    this.cap = sab.byteLength - CTRL_BYTES;
    this.data = new Uint8Array(sab, CTRL_BYTES, this.cap);
    this.dv = new DataView(sab, CTRL_BYTES, this.cap);
  }

  flag(bit: number): boolean {
    return (Atomics.load(this.ctrl, FLAGS) & bit) !== 0;
  }

  setFlag(bit: number): void {
    Atomics.or(this.ctrl, FLAGS, bit);
    Atomics.notify(this.ctrl, FW);
    Atomics.notify(this.ctrl, FR);
  }
}

class SabReceiver implements Receiver {
  readonly address: string;
  private readonly rings: Ring[];
  private readonly sink = new ErrorSink();
  private handler: FrameHandler | null = null;
  private closed = false;
  private framesReceived = 0;
  private bytesReceived = 0;
  private waits = 0;

  constructor(private readonly opts: ReceiverOptions, ringBytes: number | undefined, private readonly host: HostChannel) {
    const key = randomBytes(8).toString('hex');
    this.address = PREFIX + key;
    const bytes = CTRL_BYTES + ringBytesFor(opts.maxFrameBytes, ringBytes);
    this.rings = Array.from({ length: Math.max(1, opts.producers) }, () => new Ring(new SharedArrayBuffer(bytes)));
    host.share(this.address, this.rings.map((r) => r.sab));
  }

  start(handler: FrameHandler): void {
    if (this.handler) return;
    this.handler = handler;
    for (const r of this.rings) void this.loop(r);
  }

  private async loop(ring: Ring): Promise<void> {
    const { ctrl } = ring;
    while (!this.closed) {
      const fr = Atomics.load(ctrl, FR);
      const fw = Atomics.load(ctrl, FW);
      if (fw === fr) {
        this.waits++;
        const w = (waitAsync as WaitAsync)(ctrl, FW, fw, WAIT_MS);
        if (w.async) await w.value;
        continue;
      }
      let pos = Atomics.load(ctrl, R);
      if (ring.cap - pos < REC_HEADER || ring.dv.getUint32(pos, true) === WRAP) pos = 0;
      const len = ring.dv.getUint32(pos, true);
      const magic = ring.dv.getUint32(pos + 4, true);
      const next = pos + REC_HEADER + align8(len);
      if (magic !== MAGIC || next > ring.cap) {
        this.sink.emit(fbError('FB_ERR_PROTOCOL', `worker-sab: bad record at ${pos} (length ${len}, magic 0x${magic.toString(16)})`));
        return;
      }
      const consume = (): void => {
        Atomics.store(ctrl, R, next === ring.cap ? 0 : next);
        Atomics.add(ctrl, FR, 1);
        Atomics.notify(ctrl, FR);
      };
      if (len > this.opts.maxFrameBytes) {
        this.sink.emit(frameOverLimit(len, this.opts.maxFrameBytes));
        consume();
        continue;
      }
      this.framesReceived++;
      this.bytesReceived += len;
      await new Promise<void>((resolve) => {
        let released = false;
        (this.handler as FrameHandler)(ring.data.subarray(pos + REC_HEADER, pos + REC_HEADER + len), () => {
          if (released) return;
          released = true;
          if (!this.closed) consume();
          resolve();
        });
      });
    }
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof SAB_RECEIVER_STATS> {
    return { framesReceived: this.framesReceived, bytesReceived: this.bytesReceived, rings: this.rings.length, ringBytes: this.rings[0].cap, waits: this.waits };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.rings) r.setFlag(RECEIVER_CLOSED);
    this.host.unshare(this.address);
  }
}

class SabSender implements Sender {
  private readonly sink = new ErrorSink();
  private chain: Promise<unknown> = Promise.resolve();
  private gone: FbError | null = null;
  private closed = false;
  private framesSent = 0;
  private framesDropped = 0;
  private bytesCopied = 0;
  private spaceWaits = 0;

  constructor(private readonly ring: Ring, private readonly opts: SenderOptions) {}

  private check(bytes: number): void {
    if (this.gone) throw this.gone;
    if (this.ring.flag(RECEIVER_CLOSED)) {
      this.gone = fbError('FB_ERR_PEER_GONE', 'worker-sab: receiver closed');
      this.sink.emit(this.gone);
      throw this.gone;
    }
    if (this.closed) throw fbError('FB_ERR_INTERNAL', 'worker-sab: send after close');
    if (bytes > this.opts.maxFrameBytes || REC_HEADER + align8(bytes) > this.ring.cap) {
      throw frameTooLarge(bytes, Math.min(this.opts.maxFrameBytes, this.ring.cap - REC_HEADER));
    }
  }

  /** Offset where a record of `need` bytes fits now (after writing a wrap marker), or -1. */
  private place(need: number): number {
    const { ctrl, cap } = this.ring;
    const w = Atomics.load(ctrl, W);
    const r = Atomics.load(ctrl, R);
    const empty = Atomics.load(ctrl, FW) === Atomics.load(ctrl, FR);
    if (!empty && w === r) return -1;
    if (w < r) return w + need <= r ? w : -1;
    if (w + need <= cap) return w;
    // the tail is too short: mark it skipped and start over at 0 (room up to the reader);
    // a record is at most half the ring, so an empty ring always has room one way or the other
    if (need > r) return -1;
    if (cap - w >= REC_HEADER) this.ring.dv.setUint32(w, WRAP, true);
    return 0;
  }

  /** Waits for room for a frame of `bytes`; returns its offset, or -1 when dropped by policy. */
  private async reserve(bytes: number): Promise<number> {
    const need = REC_HEADER + align8(bytes);
    for (;;) {
      this.check(bytes);
      const fr = Atomics.load(this.ring.ctrl, FR);
      const at = this.place(need);
      if (at >= 0) return at;
      if (this.opts.policy === 'drop') return -1;
      this.spaceWaits++;
      const w = (waitAsync as WaitAsync)(this.ring.ctrl, FR, fr, WAIT_MS);
      if (w.async) await w.value;
    }
  }

  private publish(at: number, bytes: number): void {
    const { ctrl, dv, cap } = this.ring;
    dv.setUint32(at, bytes, true);
    dv.setUint32(at + 4, MAGIC, true);
    const next = at + REC_HEADER + align8(bytes);
    Atomics.store(ctrl, W, next === cap ? 0 : next);
    Atomics.add(ctrl, FW, 1);
    Atomics.notify(ctrl, FW);
    this.framesSent++;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  send(frame: Uint8Array): Promise<boolean> {
    return this.serial(async () => {
      const at = await this.reserve(frame.byteLength);
      if (at < 0) {
        this.framesDropped++;
        return false;
      }
      this.ring.data.set(frame, at + REC_HEADER);
      this.bytesCopied += frame.byteLength;
      this.publish(at, frame.byteLength);
      return true;
    });
  }

  loan(bytes: number): Promise<Loan | null> {
    let done: () => void = () => undefined;
    const committed = new Promise<void>((resolve) => (done = resolve));
    return new Promise<Loan | null>((resolve, reject) => {
      void this.serial(async () => {
        let at: number;
        try {
          at = await this.reserve(bytes);
        } catch (e) {
          reject(e);
          return;
        }
        if (at < 0) {
          this.framesDropped++;
          resolve(null);
          return;
        }
        const view = this.ring.data.subarray(at + REC_HEADER, at + REC_HEADER + bytes);
        let settled = false;
        resolve({
          view,
          commit: async () => {
            if (settled) return;
            settled = true;
            try {
              this.check(0);
              this.publish(at, bytes);
            } finally {
              done();
            }
          },
          abort: () => {
            if (settled) return;
            settled = true;
            done(); // nothing published: W stays, the next reservation takes the same place
          },
        });
        await committed; // the next reservation waits for this one's commit or abort
      });
    });
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof SAB_SENDER_STATS> {
    return { framesSent: this.framesSent, framesDropped: this.framesDropped, bytesCopied: this.bytesCopied, spaceWaits: this.spaceWaits };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    this.ring.setFlag(SENDER_CLOSED);
  }
}

export const workerSabTransport = defineTransport({
  name: 'worker-sab',
  description: 'producer and consumer as worker threads of one process: SharedArrayBuffer ring per producer, Atomics.notify/waitAsync',
  capabilities: { zeroCopy: true, inProcess: true, topology: 'consumer-threads' },
  maxFrameBytes: 64 * 1024 * 1024,
  options: SAB_OPTIONS,
  stats: { receiver: SAB_RECEIVER_STATS, sender: SAB_SENDER_STATS },
  // no rawInput: in-process, named in registry.ts NO_RAW_INPUT
  unavailableReason: () => (typeof SharedArrayBuffer === 'function' && typeof waitAsync === 'function' ? null : 'this Node has no SharedArrayBuffer or Atomics.waitAsync'),

  async createReceiver(opts, o) {
    if (!opts.host) throw fbError('FB_ERR_INTERNAL', 'worker-sab: the receiver needs the channel to the threads it hosts (ReceiverOptions.host)');
    return new SabReceiver(opts, o.ringBytes, opts.host);
  },

  async openSender(address, opts) {
    if (!address.startsWith(PREFIX)) throw fbError('FB_ERR_INTERNAL', `not a worker-sab transport address: '${address}'`);
    const sabs = opts.host?.sharedObject(address) as SharedArrayBuffer[] | undefined;
    if (!sabs) throw fbError('FB_ERR_PEER_GONE', `worker-sab: no receiver ${address} in this process (the sender must be a thread hosted by the consumer)`);
    const ring = new Ring(sabs[opts.producerId % sabs.length]);
    if (ring.flag(RECEIVER_CLOSED)) throw fbError('FB_ERR_PEER_GONE', 'worker-sab: receiver closed');
    return new SabSender(ring, opts);
  },
});
