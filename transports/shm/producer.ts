import { fbError, type FbError } from '../../core/errors';
import { nowNs } from '../../core/clock';
import { shmNative, type NativeWaiter } from './native';
import { RING, recordSpan, sealOf, lineOffset, i32, i64 } from './layout';
import { IDX, openSegment, removeIfStale, unmapSegment, type ProducerSegment } from './segment';
import { nowMs, registerProducer, unregisterProducer } from './local';
import type { RingErrorHandler } from './consumer';
import type { StatsOf, StatsShape } from '../types';

export type BackpressurePolicy = 'block' | 'drop';

/**
 * A producer's wake-up of the consumer is followed by a yield of its CPU (yieldAfterWake) only when its
 * previous wake-up was at least this long ago: paced streams hand off every frame, a burst does not.
 */
export const YIELD_MIN_GAP_NS = 2e6;

export interface RingProducerOptions {
  /** 'block' (default): loan/send wait for space. 'drop': they return null/false at once (counted). */
  policy?: BackpressurePolicy;
  /** Full-ring re-checks before waiting for space (each counted in stats.spins). Default 0. */
  spin?: number;
  /** Producer id written in its region (a label the consumer quotes in its errors, never trusted). */
  producerId?: number;
  /** Refuse records above this many bytes (FB_ERR_FRAME_TOO_LARGE), besides the ring's own limit. */
  maxRecordBytes?: number;
  /**
   * After waking a sleeping consumer, yield this thread's CPU (sched_yield) so that a consumer the
   * kernel placed on this CPU runs at once instead of after the rest of our time slice; not within
   * YIELD_MIN_GAP_NS of our previous wake-up (a burst). Default true (docs/ring.md, "Yielding after a wake-up").
   */
  yieldAfterWake?: boolean;
}

/** A reservation in the ring: write `view`, then commit() (or abort()). */
export interface RingLoan {
  readonly view: Uint8Array;
  commit(): void;
  abort(): void;
}

/** What a producer end's stats() returns (the shm sender's declared stats). */
export const RING_PRODUCER_STATS = {
  records: 'number',
  bytes: 'number',
  drops: 'number',
  fullWaits: 'number',
  futexWaits: 'number',
  futexWakes: 'number',
  spins: 'number',
  pads: 'number',
  index: 'number',
  ringBytes: 'number',
} as const satisfies StatsShape;

const LOCAL_POLL_MS = 1;
const WATCHDOG_MS = 200;

class Loan implements RingLoan {
  readonly view: Uint8Array;
  done = false;
  /** Neighbours in the producer's list of open loans (intrusive: a loan opened and sealed per frame allocates no set entry). */
  prevOpen: Loan | null = null;
  nextOpen: Loan | null = null;
  constructor(private readonly p: RingProducer, readonly pos: number, len: number, base: number, ab: ArrayBuffer) {
    this.view = new Uint8Array(ab, base + RING.RECORD_HEADER_BYTES, len);
  }
  commit(): void {
    this.p.finish(this, RING.REC_COMMITTED);
  }
  abort(): void {
    this.p.finish(this, RING.REC_PAD);
  }
}

/**
 * A producer end of the ring (any number per ring, in any processes). Each producer has a region
 * of its own, which only it writes: a reservation moves its own reserve cursor, the record is
 * written in place and sealed COMMITTED. The consumer's read cursor for this region, and its state,
 * are in the consumer page, which this end maps read-only (never stored into: a store would kill
 * the process). Records of one producer are delivered in the order of its loan()/send() calls.
 */
export class RingProducer {
  readonly name: string;
  readonly capacity: number;
  /** Largest payload this producer may send. */
  readonly maxRecordBytes: number;
  private seg: ProducerSegment;
  /** Index of our line in the consumer page (u32 / u64 word indices precomputed). */
  private readonly index: number;
  private readonly readIdx: number;
  private readonly spaceSeqOff: number;
  private readonly lineStateIdx: number;
  private readonly policy: BackpressurePolicy;
  private readonly spin: number;
  private readCache = 0;
  /** Our reserve cursor (the region's copy is for the consumer). */
  private reserved = 0;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  /** Open loans, newest first (an intrusive list: a Set's add and delete per frame shrank its table every frame). */
  private open: Loan | null = null;
  private gone: FbError | null = null;
  private closed = false;
  private errorHandlers: RingErrorHandler[] = [];
  private watchdog: NodeJS.Timeout;
  private pidCheckedAt = nowMs();
  /** The consumer's sleep epoch this producer last signalled (0: none): one signal per sleep. */
  private signalledEpoch = 0;
  /** Yield the CPU after waking the consumer (RingProducerOptions.yieldAfterWake). */
  private readonly yieldAfterWake: boolean;
  /** CLOCK_MONOTONIC of our last wake-up of the consumer (ns; -Infinity: none yet). */
  private lastSignalNs = -Infinity;
  /** Resolves the pending wait for space (the waiter thread's call, a local release, close, the watchdog). */
  private spaceWaiter: (() => void) | null = null;
  /** The thread that waits on our line's spaceSeq when the ring is full (made on the first such wait). */
  private waiter: NativeWaiter | null = null;
  private readonly spaceSeqExpected = new Uint32Array(1);
  private readonly counters = { records: 0, bytes: 0, drops: 0, fullWaits: 0, futexWaits: 0, futexWakes: 0, spins: 0, pads: 0 };

  constructor(name: string, opts: RingProducerOptions = {}) {
    this.seg = openSegment(name);
    this.name = name;
    this.capacity = this.seg.capacity;
    this.maxRecordBytes = Math.min(this.seg.maxRecordBytes, opts.maxRecordBytes ?? Infinity);
    this.policy = opts.policy ?? 'block';
    this.spin = Math.max(0, Math.floor(opts.spin ?? 0));
    this.yieldAfterWake = opts.yieldAfterWake !== false;
    this.index = this.seg.index;
    this.readIdx = i64(lineOffset(this.index, RING.LINE_READ));
    this.spaceSeqOff = lineOffset(this.index, RING.LINE_SPACE_SEQ);
    this.lineStateIdx = i32(lineOffset(this.index, RING.LINE_STATE));
    this.seg.region.dv.setUint32(RING.OFF_PRODUCER_ID, (opts.producerId ?? 0) >>> 0, true);
    Atomics.store(this.seg.region.i32, IDX.producerState, RING.PRODUCER_OPEN);
    registerProducer(name, this);
    this.watchdog = setInterval(() => {
      try {
        this.checkConsumer(true);
      } catch {
        this.spaceWaiter?.(); // a wait for space ends: the loan rejects with the reason (reported through onError)
      }
    }, WATCHDOG_MS);
    this.watchdog.unref();
    try {
      this.checkConsumer(true);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  onError(handler: RingErrorHandler): void {
    this.errorHandlers.push(handler);
  }

  /** A loan now, or null if the ring is full now (no waiting, not counted as a drop). */
  tryLoan(bytes: number): RingLoan | null {
    this.checkSize(bytes);
    this.checkConsumer(false);
    this.watchdog.refresh();
    const pos = this.reserve(bytes);
    return pos < 0 ? null : this.makeLoan(pos, bytes);
  }

  /** A loan; with policy 'block' waits for space, with 'drop' resolves null when full (counted). */
  loan(bytes: number): Promise<RingLoan | null> {
    try {
      this.checkSize(bytes);
      this.checkConsumer(false);
      // A loan checks the consumer itself (its pid every WATCHDOG_MS), so the watchdog only has to
      // fire after WATCHDOG_MS without one (an idle producer, or one waiting for space): on a paced
      // producer, its own timer would be a second wake-up of the process every 200 ms (docs/ring.md).
      this.watchdog.refresh();
      if (this.queued === 0) {
        const pos = this.reserve(bytes);
        if (pos >= 0) return Promise.resolve(this.makeLoan(pos, bytes));
        if (this.policy === 'drop' && this.spin === 0) {
          this.countDrop();
          return Promise.resolve(null);
        }
      }
    } catch (e) {
      return Promise.reject(e);
    }
    this.queued++;
    const p = this.queue.then(() => this.loanSlow(bytes));
    this.queue = p.catch(() => undefined).finally(() => this.queued--);
    return p;
  }

  /** Copies `data` into a loan and commits it. Resolves false only when dropped by policy. */
  async send(data: Uint8Array): Promise<boolean> {
    const loan = await this.loan(data.byteLength);
    if (!loan) return false;
    if (this.closed) throw fbError('FB_ERR_PEER_GONE', `ring ${this.name}: sender closed`);
    loan.view.set(data);
    loan.commit();
    return true;
  }

  stats(): StatsOf<typeof RING_PRODUCER_STATS> {
    return { ...this.counters, index: this.index, ringBytes: this.capacity };
  }

  /** Aborts open loans, leaves (closes the connection: the consumer delivers what was committed, then frees the region), unmaps. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    for (let l = this.open, next: Loan | null; l; l = next) {
      next = l.nextOpen;
      this.finish(l, RING.REC_PAD);
    }
    Atomics.store(this.seg.region.i32, IDX.producerState, RING.PRODUCER_CLOSED); // a clean leave: not reported as a death
    unregisterProducer(this.name, this);
    this.spaceWaiter?.();
    this.waiter?.close(); // joins its thread before the page it waits on is unmapped
    this.waiter = null;
    // A producer closed right after its consumer was killed (-9) is the last one who can remove
    // the socket: the coordinator stops producers before their watchdog would notice.
    if (this.seg.consumerPid !== process.pid && (this.seg.sock < 0 || shmNative().peerGone(this.seg.sock))) removeIfStale(this.name);
    unmapSegment(this.seg);
  }

  /** @internal called by the local consumer when it frees space. */
  notifySpace(): void {
    this.spaceWaiter?.();
  }

  /** @internal seals a loan COMMITTED (or PAD when aborted) and signals the consumer. */
  finish(l: Loan, state: number): void {
    if (this.closed && state === RING.REC_COMMITTED) throw fbError('FB_ERR_PEER_GONE', `ring ${this.name}: commit after the sender closed`);
    if (l.done) return;
    l.done = true;
    this.unlinkOpen(l);
    const r = this.seg.region;
    const base = RING.HEADER_BYTES + (l.pos % this.capacity);
    r.dv.setFloat64(base + RING.REC_COMMIT_NS, nowNs(), true);
    Atomics.store(r.u64, base / 8, sealOf(l.pos, state));
    if (state === RING.REC_COMMITTED) {
      this.counters.records++;
      this.counters.bytes += l.view.byteLength;
      Atomics.add(r.u64, IDX.commits, 1n);
    }
    this.signalData();
  }

  // ---- reservation ----

  /** Counts a drop here and in the region, where the consumer's stats() sums them (each producer's own word). */
  private countDrop(): void {
    this.counters.drops++;
    Atomics.add(this.seg.region.u64, IDX.drops, 1n);
  }

  private checkSize(bytes: number): void {
    if (this.closed) throw fbError('FB_ERR_PEER_GONE', `ring ${this.name}: sender closed`);
    if (!Number.isInteger(bytes) || bytes < 0) throw fbError('FB_ERR_BAD_NUMBER', `record size must be a non-negative integer, got ${bytes}`);
    if (bytes > this.maxRecordBytes) {
      throw fbError('FB_ERR_FRAME_TOO_LARGE', `a ${bytes} B record exceeds this ring's limit of ${this.maxRecordBytes} B (ring ${this.capacity} B)`);
    }
  }

  private makeLoan(pos: number, bytes: number): Loan {
    const l = new Loan(this, pos, bytes, RING.HEADER_BYTES + (pos % this.capacity), this.seg.region.ab);
    l.nextOpen = this.open;
    if (this.open) this.open.prevOpen = l;
    this.open = l;
    return l;
  }

  private unlinkOpen(l: Loan): void {
    if (l.prevOpen) l.prevOpen.nextOpen = l.nextOpen;
    else if (this.open === l) this.open = l.nextOpen;
    if (l.nextOpen) l.nextOpen.prevOpen = l.prevOpen;
    l.prevOpen = l.nextOpen = null;
  }

  /**
   * Reserves a contiguous record of `len` payload bytes in our region: returns its absolute
   * position, or -1 when it is full. A record that would cross the end of the data area is
   * preceded by a PAD covering the tail, so every record can be read in place. Only this object
   * writes the reserve cursor, so it is kept here and published with a store.
   */
  private reserve(len: number): number {
    const span = recordSpan(len);
    const cap = this.capacity;
    const { u64, dv } = this.seg.region;
    let padded = false;
    for (;;) {
      const r = this.reserved;
      const off = r % cap;
      const tail = cap - off;
      const total = span <= tail ? span : tail; // else: pad the tail first
      if (r + total - this.readCache > cap) {
        const read = Number(Atomics.load(this.seg.pageU64, this.readIdx));
        if (!Number.isSafeInteger(read) || read > r || read < this.readCache) throw this.corrupt(`read cursor ${read} outside [${this.readCache}, ${r}]`);
        this.readCache = read;
        if (r + total - this.readCache > cap) {
          if (padded) this.signalData(); // full after a pad: a sleeping consumer must still skip it (it may hold the space)
          return -1;
        }
      }
      const base = RING.HEADER_BYTES + off;
      this.reserved = r + total;
      if (total !== span) {
        dv.setUint32(base + RING.REC_LENGTH, tail - RING.RECORD_HEADER_BYTES, true);
        Atomics.store(u64, base / 8, sealOf(r, RING.REC_PAD));
        Atomics.store(u64, IDX.reserve, BigInt(this.reserved));
        this.counters.pads++;
        // no signal of its own: the record reserved next is committed and signalled shortly, and the
        // consumer skips the pad on its way there (one wake-up per ring lap saved, docs/ring.md)
        padded = true;
        continue;
      }
      dv.setUint32(base + RING.REC_LENGTH, len, true);
      dv.setUint32(base + RING.REC_PRODUCER_SEQ, this.seq++ >>> 0, true);
      Atomics.store(u64, base / 8, sealOf(r, RING.REC_RESERVED));
      Atomics.store(u64, IDX.reserve, BigInt(this.reserved));
      return r;
    }
  }

  private async loanSlow(bytes: number): Promise<RingLoan | null> {
    let waited = false;
    let spins = 0;
    const rw = this.seg.region.i32;
    for (;;) {
      this.checkSize(bytes);
      this.checkConsumer(false);
      const pos = this.reserve(bytes);
      if (pos >= 0) return this.makeLoan(pos, bytes);
      if (spins < this.spin) {
        spins++;
        this.counters.spins++;
        continue;
      }
      if (this.policy === 'drop') {
        this.countDrop();
        return null;
      }
      if (!waited) this.counters.fullWaits++;
      waited = true;
      if (this.seg.consumerPid === process.pid) {
        // The consumer shares this process: it nudges us (notifySpace) when it frees space.
        await this.localSpace();
        continue;
      }
      // Dekker-style, as the consumer: flag, read the word, re-check, then wait for the word to move.
      this.spaceSeqExpected[0] = Atomics.load(this.seg.pageI32, i32(this.spaceSeqOff));
      Atomics.store(rw, IDX.producerWaiting, 1);
      const again = this.reserve(bytes);
      if (again >= 0) {
        Atomics.store(rw, IDX.producerWaiting, 0);
        return this.makeLoan(again, bytes);
      }
      this.counters.futexWaits++;
      await this.remoteSpace();
      Atomics.store(rw, IDX.producerWaiting, 0);
    }
  }

  /**
   * Resolves when our line's spaceSeq moves (the consumer released space, cut us off or closed),
   * this end closes, or the watchdog finds the consumer gone. The wait is the waiter thread's:
   * this JS thread goes on with its event loop meanwhile.
   */
  private remoteSpace(): Promise<void> {
    return new Promise((resolve) => {
      this.spaceWaiter = () => {
        this.spaceWaiter = null;
        resolve();
      };
      if (this.closed) return this.spaceWaiter();
      if (!this.waiter) {
        this.waiter = new (shmNative().Waiter)(() => this.spaceWaiter?.());
        this.waiter.watch([this.seg.page], [this.spaceSeqOff]);
      }
      this.waiter.arm(this.spaceSeqExpected);
    });
  }

  private localSpace(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, LOCAL_POLL_MS);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.spaceWaiter = () => {
        this.spaceWaiter = null;
        done();
      };
    });
  }

  private signalData(): void {
    Atomics.add(this.seg.region.i32, IDX.dataSeq, 1);
    // consumerWaiting is the consumer's sleep epoch (0: awake): one signal per sleep, so the stamp is
    // this producer's first signal since it fell asleep and a burst during its wake-up writes no more
    const epoch = Atomics.load(this.seg.pageI32, IDX.consumerWaiting);
    if (epoch !== 0 && epoch !== this.signalledEpoch) {
      this.signalledEpoch = epoch;
      // The page says how: our eventfd (stamping the signal for the consumer's wake latency first), or FUTEX_WAKE.
      // A wake-up that follows our previous one within YIELD_MIN_GAP_NS is a burst's: no yield, so the
      // consumer drains many records per wake-up instead of ping-ponging one at a time with us.
      const now = nowNs();
      const handOff = this.yieldAfterWake && now - this.lastSignalNs >= YIELD_MIN_GAP_NS;
      this.lastSignalNs = now;
      if (this.seg.wakeFd >= 0) {
        this.seg.region.dv.setFloat64(RING.OFF_SIGNAL_NS, now, true);
        shmNative().signalFd(this.seg.wakeFd, handOff);
      } else {
        shmNative().futexWake(this.seg.region.ab, RING.OFF_DATA_SEQ, 1, handOff);
      }
      this.counters.futexWakes++;
    }
  }

  // ---- peers ----

  /** Throws (and reports once) FB_ERR_PEER_GONE when the consumer closed or died. */
  private checkConsumer(checkPid: boolean): void {
    if (this.gone) throw this.gone;
    if (this.closed) return;
    let why = '';
    let code: 'FB_ERR_PEER_GONE' | 'FB_ERR_RING_CORRUPT' = 'FB_ERR_PEER_GONE';
    if (Atomics.load(this.seg.pageI32, this.lineStateIdx) === RING.LINE_CUT) {
      why = `the receiver cut this producer off (index ${this.index}): it found a protocol violation in our region, or a claim never committed`;
      code = 'FB_ERR_RING_CORRUPT';
    } else if (Atomics.load(this.seg.pageI32, IDX.consumerState) !== RING.CONSUMER_OPEN) why = 'the receiver closed the ring';
    else if (checkPid || nowMs() - this.pidCheckedAt >= WATCHDOG_MS) {
      this.pidCheckedAt = nowMs();
      if (this.seg.sock >= 0 ? shmNative().peerGone(this.seg.sock) : !shmNative().pidAlive(this.seg.consumerPid)) {
        why = `the receiver (pid ${this.seg.consumerPid}) died`;
        removeIfStale(this.name);
      }
    }
    if (!why) return;
    this.gone = fbError(code, `ring ${this.name}: ${why}`);
    clearInterval(this.watchdog);
    for (const h of this.errorHandlers) {
      try {
        h(this.gone);
      } catch {
        /* an error handler must not break the ring */
      }
    }
    throw this.gone;
  }

  private corrupt(why: string): FbError {
    return fbError('FB_ERR_RING_CORRUPT', `ring ${this.name}: ${why}`);
  }
}
