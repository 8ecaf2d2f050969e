import type { IntervalHistogram } from 'node:perf_hooks';
import { nowNs } from '../../core/clock';
import { encode, newHistogram, recordUs } from '../../core/histogram';
import { POLLER_TIMER_KEY, shmNative, type NativeFdPoller, type NativeWaiter } from './native';
import { RING } from './layout';
import { IDX, type WakeMode } from './segment';
import type { RegionReader } from './region';

/** Whole microseconds to one decimal, from nanoseconds. */
const us = (ns: number): number => Math.round(ns / 100) / 10;

/** What onWake gets when the watchdog timer (eventfd mode), not a signal, made the call. */
export const TIMER_WAKE = -2;

/** The poller's key of the serving thread's eventfd (arrivals and departures); producers' keys are their indices. */
const PEERS_KEY = -1;

/**
 * How the consumer sleeps and is woken, and the figures of it. Two modes (the ring option `wake`):
 * - `eventfd` (default): every producer has an eventfd of its own (handed over with its region) and
 *   the serving thread one for arrivals and departures; all are polled by the JS thread's own libuv
 *   loop (native/src/poller.cc), so a producer's write wakes the JS thread directly: one wake-up per
 *   frame. Wake-to-handler latency: from the producer's signal (CLOCK_MONOTONIC it stamps in its
 *   region's signalNs just before writing the eventfd) to the first line of the JS callback; a
 *   wake-up for arrivals or departures has no stamp and counts without a latency sample.
 * - `thread`: a waiter thread (native/src/waiter.cc) watches the page's peersSeq and every live
 *   producer's dataSeq in futex_waitv and calls into JS: two wake-ups per frame (its own, then the
 *   JS thread's). Latency: from the thread seeing the change (CLOCK_MONOTONIC, taken in the thread)
 *   to the JS callback's first line.
 * The consumer arms before returning to the event loop (after its last check for work) and gets
 * one call when something may have changed.
 */
export class WakeState {
  /** thread mode: the watched set no longer matches the regions (a producer arrived): watch again before arming. */
  stale = true;
  private waiter: NativeWaiter | null = null;
  private poller: NativeFdPoller | null = null;
  /** The poller's counters when it closed (stats stay readable after close). */
  private lastPoll = { coalesced: 0, spurious: 0, timeouts: 0 };
  private closed = false;
  private page: ArrayBuffer | null = null;
  private abs: ArrayBuffer[] = [];
  private views: Int32Array[] = [];
  private idx: number[] = [];
  private expected = new Uint32Array(0);
  /** eventfd mode: each watched producer's region (its signalNs), by index. */
  private readonly signalOf = new Map<number, DataView>();
  /** eventfd mode: descriptors that arrived before start() (pull mode), keyed as in the poller. */
  private readonly early = new Map<number, number>();
  private armed = false;
  private wakeups = 0;
  private coalesced = 0;
  private recordsAtWake = -1;
  private lastTimeouts = 0;
  /** Wake-to-handler latency samples in µs (core/histogram), of the wake-ups inside the window. */
  private readonly hist = newHistogram();
  /** When the JS callback of the latest wake-up started (core/clock nowNs). */
  private wakeAtNs = 0;
  /** Only wake-ups whose callback starts in [windowOpenNs, windowCloseNs) give a latency sample (setWindow). */
  private windowOpenNs = -Infinity;
  private windowCloseNs = Infinity;

  /** `peersWakeFd` (eventfd mode; owned from now on): the serving thread's eventfd for arrivals and departures. */
  constructor(readonly mode: WakeMode, peersWakeFd = -1) {
    if (peersWakeFd >= 0) this.early.set(PEERS_KEY, peersWakeFd);
  }

  /** Starts waiting machinery (idle until armed); onWake gets the wake-to-handler latency in ns (-1: none). */
  start(page: ArrayBuffer, onWake: (latencyNs: number) => void): void {
    this.page = page;
    this.stale = true;
    if (this.mode === 'thread') {
      this.waiter = new (shmNative().Waiter)((observedNs) => {
        this.wakeAtNs = nowNs();
        onWake(this.wakeAtNs - observedNs);
      });
      return;
    }
    const poller = new (shmNative().FdPoller)((key) => {
      if (key === POLLER_TIMER_KEY) {
        // the watchdog's time passed with no signal: a call, not a wake-up (no count, no sample)
        this.armed = false;
        onWake(TIMER_WAKE);
        return;
      }
      const now = nowNs();
      this.wakeAtNs = now;
      const dv = this.signalOf.get(key); // (a region leaves this map before it is unmapped)
      onWake(dv ? now - dv.getFloat64(RING.OFF_SIGNAL_NS, true) : -1);
    });
    this.poller = poller;
    for (const [key, fd] of this.early) poller.add(fd, key);
    this.early.clear();
    this.stale = false;
  }

  /** A producer arrived: eventfd mode watches its eventfd (owned from now on); thread mode re-watches before arming. */
  addRegion(r: RegionReader, wakeFd: number): void {
    if (this.mode === 'thread' || wakeFd < 0) {
      if (wakeFd >= 0) shmNative().closeFd(wakeFd);
      this.stale = true;
      return;
    }
    if (this.closed) {
      shmNative().closeFd(wakeFd);
      return;
    }
    this.signalOf.set(r.index, r.v.dv);
    if (this.poller) this.poller.add(wakeFd, r.index);
    else this.early.set(r.index, wakeFd);
  }

  /** thread mode: watches peersSeq and the dataSeq of every producer not done (up to 126; the thread is disarmed). */
  watchAll(order: readonly RegionReader[]): void {
    const w = this.waiter;
    this.stale = false;
    if (!w || !this.page) return;
    const abs: ArrayBuffer[] = [this.page];
    const offs: number[] = [RING.OFF_PEERS_SEQ];
    const views: Int32Array[] = [new Int32Array(this.page, 0, RING.PAGE_BYTES / 4)];
    const idx: number[] = [IDX.peersSeq];
    for (const r of order) {
      if (r.done || abs.length >= 127) continue;
      abs.push(r.v.ab);
      offs.push(RING.OFF_DATA_SEQ);
      views.push(r.v.i32);
      idx.push(IDX.dataSeq);
    }
    w.watch(abs, offs);
    this.armed = false;
    this.abs = abs;
    this.views = views;
    this.idx = idx;
    if (this.expected.length !== abs.length) this.expected = new Uint32Array(abs.length);
  }

  /**
   * A region is about to be unmapped: thread mode lets go of it first (the thread is disarmed if it
   * watched it); eventfd mode stops polling that producer's eventfd and closes it.
   */
  unwatch(r: RegionReader, order: readonly RegionReader[]): void {
    if (this.mode === 'eventfd') {
      this.signalOf.delete(r.index);
      if (this.poller) this.poller.remove(r.index);
      const fd = this.early.get(r.index);
      if (fd !== undefined) {
        shmNative().closeFd(fd);
        this.early.delete(r.index);
      }
      return;
    }
    if (this.waiter && this.abs.includes(r.v.ab)) this.watchAll(order);
  }

  /** thread mode: reads the watched words (before the caller's last check for work). */
  snapshot(): void {
    const e = this.expected;
    for (let i = 0; i < e.length; i++) e[i] = Atomics.load(this.views[i], this.idx[i]);
  }

  /**
   * eventfd mode: the consumer's watchdog is the poller's native timer, armed with it and stopped at
   * every wake-up, so it runs only while the consumer sleeps; thread mode keeps a JS interval.
   */
  get nativeWatchdog(): boolean {
    return this.mode === 'eventfd';
  }

  /**
   * Arms (thread mode: with the snapshot); `records` delivered so far closes the last wake-up's
   * drain. eventfd mode: after `watchdogMs` (> 0) with no signal, onWake gets TIMER_WAKE.
   */
  arm(records: number, watchdogMs = 0): void {
    if (this.recordsAtWake >= 0) {
      const n = records - this.recordsAtWake;
      if (n > 1) this.coalesced += n - 1;
      this.recordsAtWake = -1;
    }
    if (this.poller) this.poller.arm(watchdogMs);
    else (this.waiter as NativeWaiter).arm(this.expected);
    this.armed = true;
  }

  /** From now on, latency samples only of the wake-ups in [openNs, closeNs); the samples taken so far are dropped. */
  setWindow(openNs: number, closeNs: number): void {
    this.windowOpenNs = openNs;
    this.windowCloseNs = closeNs;
    this.hist.reset();
  }

  /** `ns` (core/clock nowNs) lies in the latency window (setWindow; the whole life without one). */
  inWindow(ns: number): boolean {
    return ns >= this.windowOpenNs && ns < this.windowCloseNs;
  }

  /** A call arrived, `latencyNs` after the signal (negative: no figure). */
  delivered(latencyNs: number, records: number): void {
    if (latencyNs >= 0 && latencyNs < 1e10 && this.inWindow(this.wakeAtNs)) recordUs(this.hist, latencyNs / 1e3);
    this.wakeups++;
    this.armed = false;
    this.recordsAtWake = records;
  }

  disarm(): void {
    if (this.armed) {
      this.waiter?.disarm();
      this.poller?.disarm();
    }
    this.armed = false;
  }

  /** Joins the thread / closes every eventfd (idempotent): nothing waits on any mapping afterwards. */
  close(): void {
    this.closed = true;
    for (const fd of this.early.values()) shmNative().closeFd(fd);
    this.early.clear();
    this.signalOf.clear();
    if (this.poller) this.lastPoll = this.poller.stats();
    this.poller?.close();
    this.poller = null;
    if (!this.waiter) return;
    this.lastTimeouts = this.waiter.stats().timeouts;
    this.waiter.close();
    this.waiter = null;
    this.armed = false;
  }

  /** thread mode: the thread's 1-second re-waits (an idle consumer's only activity); eventfd mode has none. */
  timeouts(): number {
    return this.waiter ? this.waiter.stats().timeouts : this.lastTimeouts;
  }

  stats(): { wakeups: number; wakeCoalesced: number; wakeSamples: number; wakeP50Us: number; wakeP99Us: number; wakeMaxUs: number; wakeHistogram: string; pollCoalesced: number; pollSpurious: number; watchdogWakes: number } {
    const h = this.hist;
    const any = h.totalCount > 0;
    const poll = this.poller ? this.poller.stats() : this.lastPoll;
    return {
      wakeups: this.wakeups,
      wakeCoalesced: this.coalesced,
      // the latency samples behind the percentiles (a wake-up for arrivals or departures has none)
      wakeSamples: h.totalCount,
      // (a percentile is its bucket's highest equivalent value: never above the maximum seen)
      wakeP50Us: any ? Math.min(h.getValueAtPercentile(50), h.maxValue) : 0,
      wakeP99Us: any ? Math.min(h.getValueAtPercentile(99), h.maxValue) : 0,
      wakeMaxUs: any ? h.maxValue : 0,
      // the samples themselves (core/histogram's encoding, µs): a benchmark's rounds merge them (measure/aggregate.ts)
      wakeHistogram: encode(h),
      // eventfd mode: signals drained while the JS side was already draining (no call of their own), and
      // readiness with nothing to read; thread mode has no poller (0)
      pollCoalesced: poll.coalesced,
      pollSpurious: poll.spurious,
      // eventfd mode: calls made by the watchdog timer, which runs only while the consumer sleeps
      watchdogWakes: poll.timeouts,
    };
  }
}

/**
 * Event-loop delay figures in µs: how late perf_hooks' sampling timer fired (it records each whole
 * interval, resolution included: the resolution is subtracted here); zeros when it was not sampled.
 */
export function loopDelayStats(h: IntervalHistogram | null, resolutionMs: number): { loopDelaySamples: number; loopDelayP50Us: number; loopDelayP99Us: number; loopDelayMaxUs: number } {
  const n = h ? h.count : 0;
  const late = (ns: number): number => us(Math.max(0, ns - resolutionMs * 1e6));
  return {
    loopDelaySamples: n,
    loopDelayP50Us: h && n ? late(h.percentile(50)) : 0,
    loopDelayP99Us: h && n ? late(h.percentile(99)) : 0,
    loopDelayMaxUs: h && n ? late(h.max) : 0,
  };
}
