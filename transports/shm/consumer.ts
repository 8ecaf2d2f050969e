import * as hdr from 'hdr-histogram-js';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fbError, toFbError, type FbError } from '../../core/errors';
import { nowNs } from '../../core/clock';
import { shmNative } from './native';
import { TIMER_WAKE, WakeState, loopDelayStats } from './wake';
import { RING, lineOffset, i32 } from './layout';
import { IDX, createSegment, unmapQuietly, type OwnSegment, type WakeMode } from './segment';
import { RegionReader, type Entry, type ScanBudget } from './region';
import { notifyLocalProducers, nowMs } from './local';
import type { StatsOf, StatsShape } from '../types';

/** Called once per record with a view of its payload inside the ring; call `release()` once. */
export type RingRecordHandler = (payload: Uint8Array, release: () => void) => void;
export type RingErrorHandler = (err: FbError) => void;

export interface RingConsumerOptions {
  /** Data area bytes of each producer's region (multiple of 32). Default 64 MiB. */
  ringBytes?: number;
  /** Largest payload accepted; larger records are skipped with FB_ERR_PROTOCOL. Default ringBytes - 32. */
  maxRecordBytes?: number;
  /** Empty-ring polls before arming the waiter thread (each counted in stats.spins). Default 0. */
  spin?: number;
  /**
   * Sample the event loop's delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution) from start()
   * to close() into stats' loopDelay*. Off by default: its timer costs CPU of its own.
   */
  eventLoopDelay?: boolean;
  /**
   * A private (0700) directory for the socket that hands producers the ring's descriptor (the
   * run's directory). Default: a fresh 0700 directory in the system temp directory, removed on close.
   */
  dir?: string;
  /**
   * Deliver a private copy of each record instead of a view into shared memory, and free the
   * ring space at once. A producer can still write a record's bytes after the consumer checked
   * them (its region stays writable by it): with copyOut the handler checks and uses
   * bytes nobody else can change. Use it whenever the payload is verified, parsed or handed to
   * native code and the producer is not trusted. Copies come from a small reused pool.
   */
  copyOut?: boolean;
  /**
   * A record a live producer reserved and has not committed for this long cuts that producer off
   * (FB_ERR_RING_CORRUPT naming it): its region is unmapped and its connection closed. Default 5000 ms.
   */
  claimTimeoutMs?: number;
  /**
   * How the consumer sleeps (docs/ring.md, "Waiting"): `eventfd` (default) has every producer write
   * an eventfd of its own, polled by this thread's event loop (one wake-up per frame); `thread`
   * sleeps in futex_waitv on a native thread that then wakes the event loop (two).
   */
  wake?: WakeMode;
}

/** Longest the consumer keeps the event loop in one go (delivering), ms. It never waits on it. */
const SLICE_MS = 50;
const WATCHDOG_MS = 200;
/** monitorEventLoopDelay's sampling period, ms. */
const LOOP_DELAY_RESOLUTION_MS = 1;
/** A live producer's claim (reserved, not committed) is given this long by default. */
const CLAIM_TIMEOUT_MS = 5000;
/**
 * Work per event-loop turn, whatever producers write: records and pads each count one step of the
 * scan budget, shared by all regions. When it is spent the consumer yields (setImmediate), so
 * timers, IPC and signal handlers keep running under a pad flood.
 */
const SCAN_STEPS = 1024;
/** Records delivered from one region before the next region gets its turn. */
const BURST = 16;
/** copyOut: private buffers kept for reuse. */
const COPY_POOL = 4;

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
  cutOff: 'number',
  producers: 'number',
  yields: 'number',
  drops: 'number',
  held: 'number',
  ringBytes: 'number',
  handoffSamples: 'number',
  handoffP50Us: 'number',
  handoffP99Us: 'number',
  handoffMaxUs: 'number',
  wakeups: 'number',
  wakeCoalesced: 'number',
  wakeSamples: 'number',
  pollCoalesced: 'number',
  pollSpurious: 'number',
  watchdogWakes: 'number',
  wakeP50Us: 'number',
  wakeP99Us: 'number',
  wakeMaxUs: 'number',
  wakeHistogram: 'text',
  loopDelaySamples: 'number',
  loopDelayP50Us: 'number',
  loopDelayP99Us: 'number',
  loopDelayMaxUs: 'number',
} as const satisfies StatsShape;

/**
 * The consumer (creator) end of the ring: one single-producer region per producer, all read by
 * this one consumer. Records are delivered per region in order (regions take turns) as views into
 * the mapping (no copy) and freed by release(); releases may come in any order, each region's
 * read cursor advances over its released prefix. The read cursors and the consumer's state live
 * in the consumer page, which producers can only map read-only. Nothing read from a region is
 * trusted: an impossible cursor, seal or length, or a claim not committed within claimTimeoutMs,
 * cuts that producer off with FB_ERR_RING_CORRUPT naming it (index, its own id, pid and uid from
 * SO_PEERCRED); the others keep flowing. A producer whose connection closes without a clean
 * close() gives FB_ERR_PEER_GONE once its committed records are delivered.
 */
export class RingConsumer {
  readonly name: string;
  readonly capacity: number;
  readonly maxRecordBytes: number;
  private seg: OwnSegment;
  private handler: RingRecordHandler | null = null;
  private errorHandlers: RingErrorHandler[] = [];
  private state: 'idle' | 'running' | 'failed' | 'closed' = 'idle';
  private readonly regions = new Map<number, RegionReader>();
  /** The regions in turn order (retired ones removed). */
  private order: RegionReader[] = [];
  private turn = 0;
  private held = 0;
  private peersSeen = -1;
  private readonly spin: number;
  private readonly copyOut: boolean;
  private readonly claimTimeoutMs: number;
  private readonly pool: Uint8Array[] = [];
  private readonly budget: ScanBudget = { steps: SCAN_STEPS };
  private watchdog: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** The last epoch written to the page's consumerWaiting (never 0 while asleep). */
  private sleepEpoch = 0;
  private failure: FbError | null = null;
  private peersCheckedAt = -Infinity;
  /** Drops reported by producers that left (their regions are gone). */
  private dropsOfGone = 0;
  private dropsAtClose = 0;
  private readonly latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });
  private readonly counters = { records: 0, bytes: 0, pads: 0, skipped: 0, oversize: 0, futexWaits: 0, futexTimeouts: 0, futexWakes: 0, spins: 0, peerGone: 0, cutOff: 0, yields: 0 };
  private readonly wake: WakeState;
  private readonly loopDelayWanted: boolean;
  private loopDelay: IntervalHistogram | null = null;

  constructor(opts: RingConsumerOptions = {}) {
    const capacity = opts.ringBytes ?? 64 * 1024 * 1024;
    const maxRecordBytes = Math.min(opts.maxRecordBytes ?? Infinity, capacity - RING.RECORD_HEADER_BYTES);
    const wake = opts.wake ?? 'eventfd';
    if (wake !== 'eventfd' && wake !== 'thread') throw fbError('FB_ERR_USAGE', `ring option wake must be 'eventfd' or 'thread', got ${JSON.stringify(wake)}`);
    this.seg = createSegment(capacity, Math.max(0, Math.floor(maxRecordBytes)), opts.dir, wake);
    this.wake = new WakeState(wake, this.seg.peersWakeFd);
    this.name = this.seg.name;
    this.capacity = this.seg.capacity;
    this.maxRecordBytes = this.seg.maxRecordBytes;
    this.spin = Math.max(0, Math.floor(opts.spin ?? 0));
    this.copyOut = opts.copyOut === true;
    this.claimTimeoutMs = Math.max(1, opts.claimTimeoutMs ?? CLAIM_TIMEOUT_MS);
    this.loopDelayWanted = opts.eventLoopDelay === true;
  }

  /**
   * Limits the latency figures of stats() (wake-to-handler and handoff) to the events in
   * [openNs, closeNs) of core/clock's nowNs (CLOCK_MONOTONIC), such as a benchmark's measured
   * window, so that warm-up and teardown stay out of them: call it before the window opens (the
   * samples taken before the call are dropped). The counters stay whole-life. Without a call the
   * figures cover the consumer's whole life.
   */
  statsWindow(openNs: number, closeNs: number): void {
    this.wake.setWindow(openNs, closeNs);
    this.latency.reset();
  }

  onError(handler: RingErrorHandler): void {
    this.errorHandlers.push(handler);
  }

  /** Starts delivering records to `handler` (push mode). */
  start(handler: RingRecordHandler): void {
    if (this.state !== 'idle') throw fbError('FB_ERR_INTERNAL', `ring ${this.name}: start() called twice or after close`);
    this.handler = handler;
    this.state = 'running';
    this.wake.start(this.seg.page, (latencyNs) => this.onWake(latencyNs));
    if (this.loopDelayWanted) {
      this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
      this.loopDelay.enable();
    }
    if (!this.wake.nativeWatchdog) {
      this.watchdog = setInterval(() => this.checkPeers(), WATCHDOG_MS);
      this.watchdog.unref();
    }
    this.schedule();
  }

  /**
   * Pull mode (instead of start()): the next committed record of any producer, or null if none
   * is ready now. A producer found breaking the protocol is cut off and reported through onError
   * (FB_ERR_RING_CORRUPT); the call goes on with the others.
   */
  tryReceive(): { payload: Uint8Array; release: () => void } | null {
    if (this.failure) throw this.failure;
    if (this.state === 'closed') throw fbError('FB_ERR_PEER_GONE', `ring ${this.name} is closed`);
    if (this.state === 'running') throw fbError('FB_ERR_INTERNAL', `ring ${this.name}: tryReceive() after start()`);
    this.budget.steps = SCAN_STEPS; // a pad flood makes this return null (call again), never spin for ever
    this.pollPeers(false);
    if (nowMs() - this.peersCheckedAt >= WATCHDOG_MS) this.checkPeers();
    const order = this.order; // (retire() replaces this.order: walk this one to its end)
    const n = order.length;
    for (let k = 0; k < n; k++) {
      const r = order[(this.turn + k) % n];
      for (;;) {
        const e = this.scan(r);
        if (e === null) break;
        const out = this.view(e);
        if (out) {
          this.turn = (this.turn + k + 1) % n;
          return out;
        }
      }
      if (this.budget.steps <= 0) break;
    }
    return null;
  }

  stats(): StatsOf<typeof RING_CONSUMER_STATS> {
    this.pollPeers(false);
    const h = this.latency;
    const us = (ns: number): number => Math.round(ns / 100) / 10;
    return {
      ...this.counters,
      producers: this.order.length,
      drops: this.producerDrops(),
      held: this.held,
      ringBytes: this.capacity,
      handoffSamples: h.totalCount,
      handoffP50Us: h.totalCount ? us(h.getValueAtPercentile(50)) : 0,
      handoffP99Us: h.totalCount ? us(h.getValueAtPercentile(99)) : 0,
      handoffMaxUs: h.totalCount ? us(h.maxValue) : 0,
      ...this.wake.stats(),
      ...loopDelayStats(this.loopDelay, LOOP_DELAY_RESOLUTION_MS),
      futexTimeouts: this.wake.timeouts(),
    };
  }

  /** Drops counted by producers in their own regions (each can only misreport its own). */
  private producerDrops(): number {
    if (this.state === 'closed') return this.dropsAtClose;
    let sum = this.dropsOfGone;
    for (const r of this.order) sum += r.drops();
    return sum;
  }

  /** Stops delivery, tells producers (FB_ERR_PEER_GONE), stops serving the ring, unmaps. Idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.dropsAtClose = this.producerDrops();
    this.shutdown();
    this.state = 'closed';
    this.wake.close(); // joins the thread: nothing waits on the regions any more
    for (const r of this.order) this.retire(r, false);
    this.order = [];
    this.regions.clear();
    unmapQuietly(this.seg.page);
  }

  // ---- producers arriving and leaving ----

  /** Maps the regions of producers that arrived, marks those whose connection closed. */
  private pollPeers(force: boolean): void {
    if (this.state === 'closed') return;
    const seq = Atomics.load(this.seg.pageI32, IDX.peersSeq);
    if (!force && seq === this.peersSeen) return;
    this.peersSeen = seq;
    const ev = this.seg.events();
    for (const a of ev.added) {
      const r = new RegionReader(a, this.capacity, this.counters);
      this.regions.set(a.index, r);
      this.order.push(r);
      this.wake.addRegion(r, a.wakeFd);
    }
    for (const index of ev.gone) {
      const r = this.regions.get(index);
      if (r && !r.done) r.leaving = true;
    }
  }

  /** A producer as errors name it: its index, the id it gives itself, and who the kernel says it is. */
  private label(r: RegionReader): string {
    const id = r.producerId();
    const uid = r.uid === process.geteuid?.() ? '' : `, uid ${r.uid}`;
    return `producer #${r.index} (id ${id}, pid ${r.pid}${uid})`;
  }

  /** A leaving producer has nothing more to deliver: report it if it did not close cleanly, then retire. */
  private finishLeaving(r: RegionReader, leftClaim: boolean): void {
    r.done = true;
    if (leftClaim) this.counters.skipped++;
    const clean = r.closedCleanly() && !leftClaim;
    if (!clean) {
      this.counters.peerGone++;
      this.report(fbError('FB_ERR_PEER_GONE', `ring ${this.name}: ${this.label(r)} is gone (its connection closed${leftClaim ? '; its unfinished record is skipped' : ''})`));
    }
    if (r.held === 0) this.retire(r, true);
  }

  /** Cuts a producer off: its line says so, its region is unmapped (held views read as empty), its connection closed. */
  private cut(r: RegionReader, why: string): void {
    if (r.done) return;
    r.done = true;
    this.counters.cutOff++;
    const err = fbError('FB_ERR_RING_CORRUPT', `ring ${this.name}: ${this.label(r)} cut off: ${why}`);
    Atomics.store(this.seg.pageI32, i32(lineOffset(r.index, RING.LINE_STATE)), RING.LINE_CUT);
    this.wakeProducer(r);
    this.held -= r.held;
    r.held = 0;
    this.retire(r, true);
    this.report(err);
  }

  /** Unmaps a region and gives its index back (once). */
  private retire(r: RegionReader, drop: boolean): void {
    if (r.retired) return;
    this.dropsOfGone += r.drops();
    r.done = true;
    r.retired = true;
    r.forget();
    this.wake.unwatch(r, this.order); // before unmapping it: the waiter thread lets go of it (disarmed), its eventfd is closed
    unmapQuietly(r.v.ab);
    this.schedule(); // (re-arms it)
    if (drop) {
      this.seg.dropPeer(r.index);
      this.regions.delete(r.index);
      this.order = this.order.filter((x) => x !== r);
    }
  }

  // ---- delivery ----

  private schedule(): void {
    if (this.immediate || this.state !== 'running') return;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.safePump();
    });
  }

  /**
   * A producer signalled (or the waiter thread saw a word change): drain what is there (this call
   * is the wake-up of every commit since it was armed). TIMER_WAKE: the watchdog's WATCHDOG_MS
   * passed while asleep (eventfd mode): check the peers, then drain.
   */
  private onWake(latencyNs: number): void {
    const timer = latencyNs === TIMER_WAKE;
    if (!timer) this.wake.delivered(latencyNs, this.counters.records);
    Atomics.store(this.seg.pageI32, IDX.consumerWaiting, 0);
    // While records flow the watchdog's checks ride on the wake-ups (at most every WATCHDOG_MS).
    // eventfd mode: its timer is the poller's, stopped at every wake-up, so it only runs while the
    // consumer sleeps. thread mode: a JS interval, pushed back here (a refreshed JS timer still wakes
    // the loop at its first due time: about every 200 ms while records flow, on a frame's boundary).
    this.watchdog?.refresh();
    if (timer || nowMs() - this.peersCheckedAt >= WATCHDOG_MS) this.checkPeers();
    if (this.state === 'running' && !this.immediate) this.safePump();
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

  /** One pass over every region (each delivers up to BURST records); the number delivered. */
  private pass(): number {
    let n = 0;
    for (const r of this.order) {
      // (retire() replaces this.order with a new array: this loop goes on over the old one)
      for (let k = 0; k < BURST && this.state === 'running'; k++) {
        const e = this.scan(r);
        if (e === null) break;
        this.deliver(e);
        n++;
      }
      if (this.budget.steps <= 0 || this.state !== 'running') break;
    }
    return n;
  }

  private pump(): void {
    const start = nowMs();
    // a consumer that never sleeps (a producer streaming faster than it drains) never meets the
    // eventfd mode's watchdog timer: the pump checks the peers itself, at most every WATCHDOG_MS
    if (start - this.peersCheckedAt >= WATCHDOG_MS) this.checkPeersNow();
    let spins = 0;
    this.budget.steps = SCAN_STEPS;
    while (this.state === 'running') {
      this.pollPeers(false);
      const n = this.pass();
      if (this.state !== 'running') return;
      if (this.budget.steps <= 0) {
        this.counters.yields++;
        return this.schedule(); // budget spent: let the event loop turn
      }
      if (nowMs() - start >= SLICE_MS) return this.schedule();
      if (n > 0) {
        spins = 0;
        continue;
      }
      if (spins < this.spin) {
        spins++;
        this.counters.spins++;
        continue;
      }
      if (this.sleep()) return; // the waiter thread calls onWake when something changes
    }
  }

  /**
   * Arms the waiter thread on every producer's dataSeq word and the page's peersSeq (a producer
   * arrived or left), unless something became ready meanwhile; true if armed. The JS thread never
   * waits: it returns to the event loop, and the thread calls onWake. Dekker-style: the flag is set
   * and the words read before the last check, so a commit after that check changes a word the
   * thread waits on (its wait then returns at once), and its producer sees the flag and wakes it.
   * Each producer can wake the consumer only through its own word: a hostile one causes spurious
   * wake-ups (a scan, within the budget), never a missed one for the others.
   */
  private sleep(): boolean {
    const page = this.seg.pageI32;
    if (this.wake.stale) this.wake.watchAll(this.order);
    // a new epoch per sleep (never 0): each producer signals once per epoch (docs/ring.md, "Waiting")
    this.sleepEpoch = this.sleepEpoch >= 0x7fffffff ? 1 : this.sleepEpoch + 1;
    Atomics.store(page, IDX.consumerWaiting, this.sleepEpoch);
    if (this.wake.mode === 'thread') this.wake.snapshot();
    if (this.ready()) {
      Atomics.store(page, IDX.consumerWaiting, 0);
      return false;
    }
    this.counters.futexWaits++;
    this.wake.arm(this.counters.records, WATCHDOG_MS);
    return true;
  }

  /** True when some region has a record (or something the next scan must judge), or producers came or went. */
  private ready(): boolean {
    if (Atomics.load(this.seg.pageI32, IDX.peersSeq) !== this.peersSeen) return true;
    for (const r of this.order) if (r.ready()) return true;
    return false;
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
    const r = e.region;
    const base = RING.HEADER_BYTES + (e.start % this.capacity);
    const len = e.len;
    if (len > this.maxRecordBytes) {
      this.counters.oversize++;
      this.releaseEntry(e, false);
      this.report(fbError('FB_ERR_PROTOCOL', `ring ${this.name}: a ${len} B record from ${this.label(r)} exceeds maxRecordBytes ${this.maxRecordBytes}; skipped`));
      return null;
    }
    const commitNs = r.v.dv.getFloat64(base + RING.REC_COMMIT_NS, true);
    const now = nowNs();
    const lat = now - commitNs;
    if (lat >= 0 && lat < 1e10 && this.wake.inWindow(now)) this.latency.recordValue(Math.max(1, Math.round(lat)));
    this.counters.records++;
    this.counters.bytes += len;
    this.held++;
    r.held++;
    const payload = new Uint8Array(r.v.ab, base + RING.RECORD_HEADER_BYTES, len);
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

  /** The next committed record of `r`, or null; acts on a verdict (cut off a violation, finish a leaving producer). */
  private scan(r: RegionReader): Entry | null {
    if (this.state === 'failed' || this.state === 'closed') return null;
    const e = r.scan(this.budget);
    if (r.read !== r.published && !r.done) this.publish(r); // pads passed: their space is free
    if (e) return e;
    if (r.violation && !r.done) this.cut(r, r.violation);
    else if (r.ended && !r.done) this.finishLeaving(r, r.ended.leftClaim);
    return null;
  }

  private releaseEntry(e: Entry, counted = true): void {
    const r = e.region;
    if (e.released || r.retired || this.state === 'closed') {
      e.released = true; // cut off or closed: its counts are gone already
      return;
    }
    if (counted) this.held--;
    const moved = r.release(e, counted);
    if (r.done) {
      if (r.held === 0) this.retire(r, true); // a leaving producer's last view came back
      return;
    }
    if (moved) this.publish(r);
  }

  /** Writes r's released prefix to its read cursor in the page and wakes the producer. */
  private publish(r: RegionReader): void {
    r.published = r.read;
    Atomics.store(this.seg.pageU64, r.readIdx, BigInt(r.read));
    this.wakeProducer(r);
    notifyLocalProducers(this.name);
  }

  /**
   * Bumps producer r's spaceSeq; wakes it if its region says it sleeps (a lie costs it only its own
   * wake-up) and enough came free (RegionReader.spaceWorthWaking: half the region, or nothing more to read).
   */
  private wakeProducer(r: RegionReader): void {
    const page = this.seg.pageI32;
    Atomics.add(page, i32(r.spaceSeqOff), 1);
    if (r.retired || (Atomics.load(r.v.i32, IDX.producerWaiting) !== 0 && r.spaceWorthWaking())) {
      shmNative().futexWake(this.seg.page, r.spaceSeqOff, 0x7fffffff);
      this.counters.futexWakes++;
    }
  }

  // ---- peers ----

  /** Arrivals and departures, and claims held too long; reschedules the pump. */
  private checkPeers(): void {
    if (this.state !== 'running' && this.state !== 'idle') return;
    this.checkPeersNow();
    this.schedule();
  }

  /** checkPeers without rescheduling (the pump's own, while it drains without sleeping). */
  private checkPeersNow(): void {
    this.peersCheckedAt = nowMs();
    this.pollPeers(true);
    const now = nowMs();
    for (const r of this.order) {
      // (a leaving producer is finished by the next scan: the pump's, or pull mode's next call)
      if (!r.done && !r.leaving && r.claimAge(now) >= this.claimTimeoutMs) {
        this.cut(r, `a record claimed at ${r.claimAt} was not committed within ${this.claimTimeoutMs} ms`);
      }
    }
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

  /** Marks the consumer closed for producers, wakes them, stops serving. Keeps the mappings. */
  private shutdown(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.immediate) clearImmediate(this.immediate);
    this.watchdog = null;
    this.immediate = null;
    this.wake.disarm();
    this.loopDelay?.disable();
    Atomics.store(this.seg.pageI32, IDX.consumerState, RING.CONSUMER_CLOSED);
    for (const r of this.order) {
      Atomics.add(this.seg.pageI32, i32(r.spaceSeqOff), 1);
      shmNative().futexWake(this.seg.page, r.spaceSeqOff, 0x7fffffff);
    }
    notifyLocalProducers(this.name);
    this.seg.close();
  }
}
