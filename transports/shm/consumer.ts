import * as hdr from 'hdr-histogram-js';
import { fbError, toFbError, type FbError } from '../../core/errors';
import { nowNs } from '../../core/clock';
import { shmNative } from './native';
import { RING, recordSpan } from './layout';
import { ProducerSlots } from './slots';
import { IDX, createSegment, unmapSegment, type OwnSegment } from './segment';
import { localProducerCount, notifyLocalProducers, nowMs, registerConsumer, unregisterConsumer } from './local';
import type { StatsOf, StatsShape } from '../types';

/** Called once per record with a view of its payload inside the ring; call `release()` once. */
export type RingRecordHandler = (payload: Uint8Array, release: () => void) => void;
export type RingErrorHandler = (err: FbError) => void;

export interface RingConsumerOptions {
  /** Data area bytes (multiple of 32). Default 64 MiB. */
  ringBytes?: number;
  /** Largest payload accepted; larger records are skipped with FB_ERR_PROTOCOL. Default ringBytes - 32. */
  maxRecordBytes?: number;
  /** Empty-ring polls before sleeping in the futex (each counted in stats.spins). Default 0. */
  spin?: number;
  /**
   * A private (0700) directory for the socket that hands producers the ring's descriptor (the
   * run's directory). Default: a fresh 0700 directory in the system temp directory, removed on close.
   */
  dir?: string;
  /**
   * Deliver a private copy of each record instead of a view into shared memory, and free the
   * ring space at once. A producer can still write a record's bytes after the consumer checked
   * them (the mapping is writable by every producer): with copyOut the handler checks and uses
   * bytes nobody else can change. Use it whenever the payload is verified, parsed or handed to
   * native code and the producer is not trusted. Copies come from a small reused pool.
   */
  copyOut?: boolean;
}

/** Longest the consumer keeps the event loop in one go (delivering or waiting), ms. */
const SLICE_MS = 50;
/** Futex wait per attempt: short while views are held or local producers share the loop. */
const WAIT_MS = 50;
const SHORT_WAIT_MS = 1;
/** Poll period when no producer in another process is attached (no futex wait then). */
const POLL_MS = 2;
const WATCHDOG_MS = 200;
/** A position reserved but never sealed, with a producer known dead: skipped after this long. */
const GAP_GIVE_UP_MS = 1000;
/**
 * Work per event-loop turn, whatever producers write: records, pads and skips each count one
 * step of the scan budget; the gap walk looks at most GAP_STEPS positions. When a budget is
 * spent the consumer yields (setImmediate), so timers, IPC and signal handlers keep running
 * under a pad flood or a gap walk across a whole ring.
 */
const SCAN_STEPS = 1024;
/** copyOut: private buffers kept for reuse. */
const COPY_POOL = 4;
const GAP_STEPS = 16384;

interface Entry {
  start: number;
  end: number;
  /** Payload length as validated by scan() (never re-read from shared memory). */
  len: number;
  released: boolean;
}

/** What the consumer end's stats() returns (the shm receiver's declared stats). */
export const RING_CONSUMER_STATS = {
  records: 'number',
  bytes: 'number',
  pads: 'number',
  skipped: 'number',
  oversize: 'number',
  futexWaits: 'number',
  futexTimeouts: 'number',
  futexWakes: 'number',
  spins: 'number',
  peerGone: 'number',
  yields: 'number',
  drops: 'number',
  held: 'number',
  ringBytes: 'number',
  handoffSamples: 'number',
  handoffP50Us: 'number',
  handoffP99Us: 'number',
  handoffMaxUs: 'number',
} as const satisfies StatsShape;

/**
 * The consumer (creator) end of a multi-producer / single-consumer ring in POSIX shared memory.
 * Records are delivered in ring order as views into the mapping (no copy) and freed by release();
 * releases may come in any order, the read cursor advances over the released prefix.
 * Nothing read from shared memory is trusted: an impossible cursor, seal or length makes the
 * consumer fail with FB_ERR_RING_CORRUPT; a dead producer gives FB_ERR_PEER_GONE and its stuck
 * reservation is skipped.
 */
export class RingConsumer {
  readonly name: string;
  readonly capacity: number;
  readonly maxRecordBytes: number;
  private seg: OwnSegment;
  private readonly slots: ProducerSlots;
  private handler: RingRecordHandler | null = null;
  private errorHandlers: RingErrorHandler[] = [];
  private state: 'idle' | 'running' | 'failed' | 'closed' = 'idle';
  private next = 0; // absolute position of the next record to look at
  private read = 0; // absolute position released (mirrors the shared read cursor)
  private fifo: Entry[] = [];
  private fifoHead = 0;
  private held = 0;
  private readonly spin: number;
  private readonly copyOut: boolean;
  private readonly pool: Uint8Array[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private gapSince = -1; // nowMs() when the consumer first saw `next` reserved but unsealed
  private gapAt = -1;
  private gapWalk = -1; // how far the bounded gap walk got (continued on the next turn)
  private gapImmediate: NodeJS.Immediate | null = null;
  private steps = 0; // scan steps left in this turn
  private peersCheckedAt = -Infinity;
  private failure: FbError | null = null;
  private dropsAtClose = 0;
  private readonly latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e10, numberOfSignificantValueDigits: 3 });
  private readonly counters = { records: 0, bytes: 0, pads: 0, skipped: 0, oversize: 0, futexWaits: 0, futexTimeouts: 0, futexWakes: 0, spins: 0, peerGone: 0, yields: 0 };

  constructor(opts: RingConsumerOptions = {}) {
    const capacity = opts.ringBytes ?? 64 * 1024 * 1024;
    const maxRecordBytes = Math.min(opts.maxRecordBytes ?? Infinity, capacity - RING.RECORD_HEADER_BYTES);
    this.seg = createSegment(capacity, Math.max(0, Math.floor(maxRecordBytes)), opts.dir);
    this.name = this.seg.name;
    this.slots = new ProducerSlots(this.seg);
    this.capacity = this.seg.capacity;
    this.maxRecordBytes = this.seg.maxRecordBytes;
    this.spin = Math.max(0, Math.floor(opts.spin ?? 0));
    this.copyOut = opts.copyOut === true;
    registerConsumer(this.name, { notifyData: () => this.wakeLocal() });
  }

  onError(handler: RingErrorHandler): void {
    this.errorHandlers.push(handler);
  }

  /** Starts delivering records to `handler` (push mode). */
  start(handler: RingRecordHandler): void {
    if (this.state !== 'idle') throw fbError('FB_ERR_INTERNAL', `ring ${this.name}: start() called twice or after close`);
    this.handler = handler;
    this.state = 'running';
    this.watchdog = setInterval(() => this.checkPeers(), WATCHDOG_MS);
    this.watchdog.unref();
    this.schedule();
  }

  /**
   * Pull mode (instead of start()): the next committed record, or null if none is ready now.
   * Throws FB_ERR_RING_CORRUPT / FB_ERR_PEER_GONE like the push mode reports them.
   */
  tryReceive(): { payload: Uint8Array; release: () => void } | null {
    if (this.failure) throw this.failure;
    if (this.state === 'closed') throw fbError('FB_ERR_PEER_GONE', `ring ${this.name} is closed`);
    if (this.state === 'running') throw fbError('FB_ERR_INTERNAL', `ring ${this.name}: tryReceive() after start()`);
    this.steps = SCAN_STEPS; // a pad flood makes this return null (call again), never spin for ever
    for (;;) {
      const e = this.scan();
      if (this.failure) throw this.failure;
      if (e === null) {
        if (nowMs() - this.peersCheckedAt >= WATCHDOG_MS) this.checkPeers();
        return null;
      }
      const out = this.view(e);
      if (out) return out;
    }
  }

  stats(): StatsOf<typeof RING_CONSUMER_STATS> {
    const h = this.latency;
    const us = (ns: number): number => Math.round(ns / 100) / 10;
    return {
      ...this.counters,
      drops: this.producerDrops(),
      held: this.held,
      ringBytes: this.capacity,
      handoffSamples: h.totalCount,
      handoffP50Us: h.totalCount ? us(h.getValueAtPercentile(50)) : 0,
      handoffP99Us: h.totalCount ? us(h.getValueAtPercentile(99)) : 0,
      handoffMaxUs: h.totalCount ? us(h.maxValue) : 0,
    };
  }

  /** Drops counted by producers in their slots (slots of producers that left keep theirs until reused). */
  private producerDrops(): number {
    return this.state === 'closed' ? this.dropsAtClose : this.slots.drops();
  }

  /** Stops delivery, tells producers (FB_ERR_PEER_GONE), stops serving the ring, unmaps. Idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.shutdown();
    this.dropsAtClose = this.producerDrops();
    this.state = 'closed';
    unmapSegment(this.seg);
  }

  // ---- delivery ----

  private schedule(): void {
    if (this.immediate || this.state !== 'running') return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.safePump();
    });
  }

  private wakeLocal(): void {
    if (this.timer) this.schedule();
  }

  /** The pump runs from timers: a bug must surface as an error report, never as an uncaught exception. */
  private safePump(): void {
    try {
      this.pump();
    } catch (e) {
      const err = toFbError(e);
      this.shutdown();
      this.state = 'failed';
      this.failure = err;
      this.report(err);
    }
  }

  private pump(): void {
    const start = nowMs();
    let spins = 0;
    this.steps = SCAN_STEPS;
    while (this.state === 'running') {
      let n = 0;
      for (; n < 64 && this.state === 'running'; n++) {
        const e = this.scan();
        if (e === null) break;
        this.deliver(e);
      }
      if (this.state !== 'running') return;
      if (this.steps <= 0) {
        this.counters.yields++;
        return this.schedule(); // budget spent: let the event loop turn
      }
      const elapsed = nowMs() - start;
      if (n > 0) {
        spins = 0;
        if (elapsed >= SLICE_MS) return this.schedule();
        continue;
      }
      if (spins < this.spin) {
        spins++;
        this.counters.spins++;
        continue;
      }
      if (!this.slots.hasRemote()) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.safePump();
        }, POLL_MS);
        return;
      }
      const budget = SLICE_MS - elapsed;
      if (budget <= 0.05) return this.schedule();
      const short = this.held > 0 || localProducerCount(this.name) > 0;
      // After a wait that timed out, always give the event loop a turn before waiting again.
      if (this.waitForData(Math.min(short ? SHORT_WAIT_MS : WAIT_MS, budget))) return this.schedule();
    }
  }

  /** One bounded futex sleep on dataSeq; true if it timed out. */
  private waitForData(ms: number): boolean {
    const { i32: w } = this.seg;
    const seq = Atomics.load(w, IDX.dataSeq);
    Atomics.store(w, IDX.consumerWaiting, 1);
    let timedOut = false;
    if (!this.ready()) {
      this.counters.futexWaits++;
      timedOut = shmNative().futexWait(this.seg.ab, RING.OFF_DATA_SEQ, seq, ms) === 1;
      if (timedOut) this.counters.futexTimeouts++;
    }
    Atomics.store(w, IDX.consumerWaiting, 0);
    return timedOut;
  }

  /** True when a sealed record (or something the next scan must judge) is at `next`. */
  private ready(): boolean {
    const reserve = Atomics.load(this.seg.u64, IDX.reserve);
    if (reserve === BigInt(this.next)) return false;
    const st = this.sealState(this.next);
    return st !== 0 && st !== RING.REC_RESERVED;
  }

  /** State of the record at absolute position `pos` if its seal matches the position, else 0. */
  private sealState(pos: number): number {
    const base = RING.HEADER_BYTES + (pos % this.capacity);
    const diff = Atomics.load(this.seg.u64, base / 8) - (BigInt(pos / RING.RECORD_ALIGN) << 2n);
    return diff >= 1n && diff <= 3n ? Number(diff) : 0;
  }

  private deliver(e: Entry): void {
    const rec = this.view(e);
    if (!rec) return;
    const handler = this.handler as RingRecordHandler;
    try {
      handler(rec.payload, rec.release);
    } catch (err) {
      this.report(toFbError(err));
    }
  }

  /** Builds the view and release for a committed entry; null when it was skipped. */
  private view(e: Entry): { payload: Uint8Array; release: () => void } | null {
    const base = RING.HEADER_BYTES + (e.start % this.capacity);
    const len = e.len;
    if (len > this.maxRecordBytes) {
      this.counters.oversize++;
      this.releaseEntry(e, false);
      this.report(fbError('FB_ERR_PROTOCOL', `ring ${this.name}: a ${len} B record exceeds maxRecordBytes ${this.maxRecordBytes}; skipped`));
      return null;
    }
    const commitNs = this.seg.dv.getFloat64(base + RING.REC_COMMIT_NS, true);
    const lat = nowNs() - commitNs;
    if (lat >= 0 && lat < 1e10) this.latency.recordValue(Math.max(1, Math.round(lat)));
    this.counters.records++;
    this.counters.bytes += len;
    this.held++;
    const payload = new Uint8Array(this.seg.ab, base + RING.RECORD_HEADER_BYTES, len);
    if (this.copyOut) return this.copied(e, payload);
    return { payload, release: () => this.releaseEntry(e) };
  }

  /** copyOut: the record copied into a pooled private buffer; its ring space freed now. */
  private copied(e: Entry, shared: Uint8Array): { payload: Uint8Array; release: () => void } {
    let own = this.pool.pop();
    if (!own || own.byteLength < shared.byteLength) own = new Uint8Array(shared.byteLength);
    const buf = own;
    const payload = buf.subarray(0, shared.byteLength);
    payload.set(shared);
    this.releaseEntry(e);
    let done = false;
    return {
      payload,
      release: () => {
        if (done) return;
        done = true;
        if (this.pool.length < COPY_POOL) this.pool.push(buf);
      },
    };
  }

  /**
   * Validates the record at `next` and returns it (committed) or null (nothing ready).
   * Pads are consumed here. Everything read from shared memory is bounds-checked.
   */
  private scan(): Entry | null {
    for (;;) {
      if (this.state === 'failed' || this.state === 'closed' || this.steps <= 0) return null;
      this.steps--;
      const reserveBig = Atomics.load(this.seg.u64, IDX.reserve);
      const reserve = Number(reserveBig);
      const pos = this.next;
      if (reserveBig === BigInt(pos)) return null;
      if (!(reserve > pos && reserve <= this.read + this.capacity) || reserve % RING.RECORD_ALIGN !== 0) {
        this.fail(`reserve cursor ${reserveBig} outside [${pos}, ${this.read + this.capacity}]`);
        return null;
      }
      const state = this.sealState(pos);
      if (state === 0) {
        this.noteGap(pos);
        return null;
      }
      const off = pos % this.capacity;
      const base = RING.HEADER_BYTES + off;
      const len = this.seg.dv.getUint32(base + RING.REC_LENGTH, true);
      const span = recordSpan(len);
      if (span > this.capacity - off || pos + span > reserve) {
        this.fail(`record at ${pos} claims ${len} B (span ${span}, ${this.capacity - off} B to the end, reserve ${reserve})`);
        return null;
      }
      if (state === RING.REC_RESERVED) {
        const slot = this.seg.dv.getUint32(base + RING.REC_SLOT, true);
        if (!this.slots.ownerGone(slot)) return null; // the producer is filling it: later records wait
        this.counters.skipped++;
        this.gapSince = -1;
        this.skip(pos, pos + span);
        continue;
      }
      this.gapSince = -1;
      const e: Entry = { start: pos, end: pos + span, len, released: false };
      this.next = pos + span;
      this.fifo.push(e);
      if (state === RING.REC_PAD) {
        this.counters.pads++;
        this.releaseEntry(e, false);
        continue;
      }
      return e;
    }
  }

  private skip(from: number, to: number): void {
    const e: Entry = { start: from, end: to, len: 0, released: false };
    this.next = to;
    this.fifo.push(e);
    this.releaseEntry(e, false);
  }

  private releaseEntry(e: Entry, counted = true): void {
    if (e.released || this.state === 'closed') return;
    e.released = true;
    if (counted) this.held--;
    const fifo = this.fifo;
    let moved = false;
    while (this.fifoHead < fifo.length && fifo[this.fifoHead].released) {
      this.read = fifo[this.fifoHead++].end;
      moved = true;
    }
    if (this.fifoHead > 1024 && this.fifoHead * 2 > fifo.length) {
      this.fifo = fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
    if (!moved) return;
    const w = this.seg.i32;
    Atomics.store(this.seg.u64, IDX.read, BigInt(this.read));
    Atomics.add(w, IDX.spaceSeq, 1);
    if (Atomics.load(w, IDX.producersWaiting) !== 0) {
      shmNative().futexWake(this.seg.ab, RING.OFF_SPACE_SEQ, 0x7fffffff);
      this.counters.futexWakes++;
    }
    notifyLocalProducers(this.name);
  }

  // ---- peers ----

  /** Checks producer slots against the connected peers; reports each death once; unblocks records they left behind. */
  private checkPeers(): void {
    if (this.state !== 'running' && this.state !== 'idle') return;
    this.peersCheckedAt = nowMs();
    for (const { slot, pid } of this.slots.reap()) {
      this.counters.peerGone++;
      this.report(fbError('FB_ERR_PEER_GONE', `ring ${this.name}: producer pid ${pid} (slot ${slot}) is gone (its connection closed, or that pid never connected)`));
    }
    this.checkGap();
    this.schedule();
  }

  private noteGap(pos: number): void {
    if (this.gapAt !== pos || this.gapSince < 0) {
      this.gapAt = pos;
      this.gapSince = nowMs();
    }
  }

  /**
   * A producer that died between winning the reservation CAS and sealing its header leaves
   * bytes nobody can describe. Once a producer is known dead and the gap has stood for
   * GAP_GIVE_UP_MS, skip to the next sealed record (or to the reserve cursor).
   */
  private checkGap(): void {
    if (this.gapSince < 0 || this.gapAt !== this.next || !this.slots.anyDead()) {
      this.gapWalk = -1;
      return;
    }
    if (nowMs() - this.gapSince < GAP_GIVE_UP_MS || this.state !== 'running' && this.state !== 'idle') return;
    const reserve = Number(Atomics.load(this.seg.u64, IDX.reserve));
    if (!(reserve > this.next && reserve <= this.read + this.capacity)) return; // scan() reports it
    const lapEnd = this.next - (this.next % this.capacity) + this.capacity; // a reservation never crosses the end
    const stop = Math.min(reserve, lapEnd);
    let end = this.gapWalk > this.next ? this.gapWalk : this.next + RING.RECORD_ALIGN;
    const limit = Math.min(stop, end + GAP_STEPS * RING.RECORD_ALIGN);
    while (end < limit && this.sealState(end) === 0) end += RING.RECORD_ALIGN;
    if (end < stop && this.sealState(end) === 0) {
      // budget spent: go on from here on the next turn
      this.gapWalk = end;
      this.counters.yields++;
      if (!this.gapImmediate) {
        this.gapImmediate = setImmediate(() => {
          this.gapImmediate = null;
          this.checkGap();
        });
      }
      return;
    }
    this.gapWalk = -1;
    this.counters.skipped++;
    this.gapSince = -1;
    this.skip(this.next, Math.min(end, stop));
    this.schedule();
  }

  // ---- failure and shutdown ----

  private report(err: FbError): void {
    for (const h of this.errorHandlers) {
      try {
        h(err);
      } catch {
        /* an error handler must not break the ring */
      }
    }
  }

  private fail(why: string): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    this.shutdown();
    this.state = 'failed';
    this.failure = fbError('FB_ERR_RING_CORRUPT', `ring ${this.name}: ${why}`);
    this.report(this.failure);
  }

  /** Marks the consumer closed for producers, wakes them, stops serving the descriptor. Keeps the mapping. */
  private shutdown(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    if (this.gapImmediate) clearImmediate(this.gapImmediate);
    this.gapImmediate = null;
    this.watchdog = this.timer = null;
    this.immediate = null;
    unregisterConsumer(this.name);
    Atomics.store(this.seg.i32, IDX.consumerState, RING.CONSUMER_CLOSED);
    Atomics.add(this.seg.i32, IDX.spaceSeq, 1);
    shmNative().futexWake(this.seg.ab, RING.OFF_SPACE_SEQ, 0x7fffffff);
    notifyLocalProducers(this.name);
    this.seg.close();
  }
}
