import * as hdr from 'hdr-histogram-js';
import type { IntervalHistogram } from 'node:perf_hooks';
import { shmNative, type NativeWaiter } from './native';
import { RING } from './layout';
import { IDX } from './segment';
import type { RegionReader } from './region';

/** Whole microseconds to one decimal, from nanoseconds. */
const us = (ns: number): number => Math.round(ns / 100) / 10;

/**
 * The consumer's waiter thread (native/src/waiter.cc) and its figures. It watches the page's
 * peersSeq and every live producer's dataSeq; the consumer arms it with the words' values read
 * before its last check and gets one call when any changes. Wake-to-handler latency: from the
 * thread seeing the change (CLOCK_MONOTONIC, taken in the thread) to the JS callback's first line.
 */
export class WakeState {
  /** The watched set no longer matches the regions (a producer arrived): watch again before arming. */
  stale = true;
  private waiter: NativeWaiter | null = null;
  private page: ArrayBuffer | null = null;
  private abs: ArrayBuffer[] = [];
  private views: Int32Array[] = [];
  private idx: number[] = [];
  private expected = new Uint32Array(0);
  private armed = false;
  private wakeups = 0;
  private coalesced = 0;
  private recordsAtWake = -1;
  private lastTimeouts = 0;
  private readonly hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60e9, numberOfSignificantValueDigits: 3 });

  /** Starts the thread (idle until armed). */
  start(page: ArrayBuffer, onWake: (observedNs: number) => void): void {
    this.page = page;
    this.waiter = new (shmNative().Waiter)(onWake);
    this.stale = true;
  }

  /** Watches peersSeq and the dataSeq of every producer not done (up to 126; the thread is disarmed). */
  watchAll(order: readonly RegionReader[]): void {
    const w = this.waiter;
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
    this.stale = false;
  }

  /** A region is about to be unmapped: the thread lets go of it first (it is disarmed if it watched it). */
  unwatch(ab: ArrayBuffer, order: readonly RegionReader[]): void {
    if (this.waiter && this.abs.includes(ab)) this.watchAll(order);
  }

  /** Reads the watched words (before the caller's last check for work). */
  snapshot(): void {
    const e = this.expected;
    for (let i = 0; i < e.length; i++) e[i] = Atomics.load(this.views[i], this.idx[i]);
  }

  /** Arms the thread with the snapshot; `records` delivered so far closes the last wake-up's drain. */
  arm(records: number): void {
    if (this.recordsAtWake >= 0) {
      const n = records - this.recordsAtWake;
      if (n > 1) this.coalesced += n - 1;
      this.recordsAtWake = -1;
    }
    (this.waiter as NativeWaiter).arm(this.expected);
    this.armed = true;
  }

  /** The thread's call arrived, `latencyNs` after it saw the change. */
  delivered(latencyNs: number, records: number): void {
    if (latencyNs >= 0 && latencyNs < 1e10) this.hist.recordValue(Math.max(1, Math.round(latencyNs)));
    this.wakeups++;
    this.armed = false;
    this.recordsAtWake = records;
  }

  disarm(): void {
    if (this.armed && this.waiter) this.waiter.disarm();
    this.armed = false;
  }

  /** Joins the thread (idempotent): nothing waits on any mapping afterwards. */
  close(): void {
    if (!this.waiter) return;
    this.lastTimeouts = this.waiter.stats().timeouts;
    this.waiter.close();
    this.waiter = null;
    this.armed = false;
  }

  /** The thread's 1-second re-waits (an idle consumer's only activity). */
  timeouts(): number {
    return this.waiter ? this.waiter.stats().timeouts : this.lastTimeouts;
  }

  stats(): { wakeups: number; wakeCoalesced: number; wakeP50Us: number; wakeP99Us: number; wakeMaxUs: number } {
    const h = this.hist;
    const any = h.totalCount > 0;
    return {
      wakeups: this.wakeups,
      wakeCoalesced: this.coalesced,
      // (a percentile is its bucket's highest equivalent value: never above the maximum seen)
      wakeP50Us: any ? us(Math.min(h.getValueAtPercentile(50), h.maxValue)) : 0,
      wakeP99Us: any ? us(Math.min(h.getValueAtPercentile(99), h.maxValue)) : 0,
      wakeMaxUs: any ? us(h.maxValue) : 0,
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
