import type { CDPSession } from 'puppeteer-core';
import { launchCallPage, watchTree, type LaunchedBrowser } from './browser';
import { sampledChecksum } from './fixture-set';
import { fbError, isFbError } from '../core/errors';
import { nowNs } from '../core/clock';
import { FRAME_MAGIC, FRAME_VERSION, HEADER_BYTES, payloadBytesFor } from '../core/frame';
import { frameSpec } from '../core/spec';

/**
 * Live mode: headless Chromium as the producer, the way the bots were. The call page draws
 * each frame, reads it back (getImageData), converts it to I420 in page JavaScript (or keeps
 * RGBA), writes the 64-byte framebench header and sends the frame as ONE binary message over
 * the page's own WebSocket to `wsUrl` (a framebench consumer, a `ws` server). Chromium splits
 * each message into wire frames of at most 131,000 B, each masked with a fresh key.
 *
 * Contract:
 *  - Sequence numbers count frames sent (0, 1, 2, ...); scheduledNs is the pacer's slot time,
 *    sendTimeNs is taken before the frame is drawn; both in the harness clock (nowNs()).
 *  - A slot the page cannot serve on time (whole interval behind, or the socket still holds
 *    more than two frames) is skipped and counted in framesLate; seq stays gap-free.
 *  - Reserved header bytes 52..63 hold a sampled checksum of the payload (verifyLiveFrame).
 *  - When the stream ends the page waits for its socket to drain, then closes it (1000).
 *  - close() ends the whole browser process tree on every path and is idempotent.
 */
export interface LiveProducerOptions {
  wsUrl: string;
  format: 'i420' | 'rgba';
  width: number;
  height: number;
  fps: number;
  producerId: number;
  durationMs: number;
  chromiumPath?: string;
  seed?: number;
}

export interface LiveResult {
  framesSent: number;
  /** Slots skipped: the page was a whole interval behind, or the socket was backed up. */
  framesLate: number;
  /** Of framesLate, slots skipped because bufferedAmount exceeded two frames. */
  framesBackpressured: number;
  /** Slots scheduled: round(durationMs * fps / 1000). */
  slots: number;
  /** Mean time in the page from slot start to ws.send() returning (draw, read back, convert, checksum, send). */
  meanWorkMs: number;
  /** True when the consumer closed the socket before the stream ended. */
  closedByConsumer: boolean;
}

export interface ClockSync {
  /** harness ns = page performance.now() ms * 1e6 + offsetNs. */
  offsetNs: number;
  /** Round trip of the sample used; the offset is good to +-rttNs/2 (plus the page clock's 100 µs grain). */
  rttNs: number;
}

export interface LiveProducer {
  browserPids(): number[];
  /** CPU of the browser's whole process tree (µs, 10 ms grain), from /proc/<pid>/stat. */
  browserCpuUs(): { user: number; system: number };
  done: Promise<LiveResult>;
  clock: ClockSync;
  chromiumVersion: string;
  close(): Promise<void>;
}

/** 'LIVE' in memory order at header offset 56: bytes 52..55 hold the sampled checksum. */
export const LIVE_TAG = 0x4556494c;

interface PageLive {
  startLive(o: object): Promise<boolean>;
  liveDone(): Promise<{ framesSent: number; framesLate: number; framesBackpressured: number; slots: number; meanWorkMs: number; error: string | null }>;
}

const CLOCK_SAMPLES = 30;

/** Offset between the page's performance.now() and nowNs(): the sample with the smallest round trip. */
export async function measureClockOffset(cdp: CDPSession, samples = CLOCK_SAMPLES): Promise<ClockSync> {
  let best: ClockSync = { offsetNs: 0, rttNs: Infinity };
  for (let i = 0; i < samples; i++) {
    const a = nowNs();
    const r = await cdp.send('Runtime.evaluate', { expression: 'performance.now()', returnByValue: true });
    const b = nowNs();
    const pageMs = r.result.value as number;
    if (b - a < best.rttNs) best = { offsetNs: (a + b) / 2 - pageMs * 1e6, rttNs: b - a };
  }
  return best;
}

function checkOptions(o: LiveProducerOptions): void {
  frameSpec(o.format, o.width, o.height); // FB_ERR_BAD_FORMAT / FB_ERR_BAD_RESOLUTION
  if (!(o.fps > 0) || !Number.isFinite(o.fps)) throw fbError('FB_ERR_BAD_NUMBER', `live fps must be > 0, got ${o.fps}`);
  if (!(o.durationMs >= 0) || !Number.isFinite(o.durationMs)) throw fbError('FB_ERR_BAD_NUMBER', `live duration must be >= 0 ms, got ${o.durationMs}`);
  if (!Number.isInteger(o.producerId) || o.producerId < 0 || o.producerId > 0xffffffff) throw fbError('FB_ERR_BAD_NUMBER', `producer id ${o.producerId} is not a u32`);
  if (!/^wss?:\/\//.test(o.wsUrl)) throw fbError('FB_ERR_USAGE', `live wsUrl must be ws://..., got '${o.wsUrl}'`);
}

/** A launched live page, not yet streaming: `begin` opens its socket and starts the stream. */
export interface LaunchedLive {
  browserPids(): number[];
  browserCpuUs(): { user: number; system: number };
  clock: ClockSync;
  chromiumVersion: string;
  /** Opens the page's WebSocket and streams for durationMs (overrides the launch option when given). */
  begin(durationMs?: number): Promise<LiveProducer>;
  close(): Promise<void>;
}

/**
 * Launches Chromium with the call page and syncs clocks, without streaming yet: the slow part,
 * which the harness does before its start barrier (harness/live-producer.ts).
 */
export async function launchLiveProducer(opts: LiveProducerOptions): Promise<LaunchedLive> {
  checkOptions(opts);
  const b: LaunchedBrowser = await launchCallPage({ chromiumPath: opts.chromiumPath, width: opts.width, height: opts.height, seed: opts.seed ?? 1 });
  const tree = watchTree(b);
  const close = tree.close;
  try {
    const cdp = await b.page.createCDPSession();
    const clock = await measureClockOffset(cdp);
    await cdp.detach().catch(() => undefined);
    const browserPids = tree.pids;
    const browserCpuUs = tree.cpuUs;
    const begin = async (durationMs = opts.durationMs): Promise<LiveProducer> => {
      const pageOpts = { wsUrl: opts.wsUrl, format: opts.format, fps: opts.fps, producerId: opts.producerId, durationMs, offsetNs: clock.offsetNs };
      try {
        await b.page.evaluate((o) => (globalThis as unknown as { fbLive: PageLive }).fbLive.startLive(o), pageOpts);
      } catch (e) {
        throw fbError('FB_ERR_PEER_GONE', `the page could not open its WebSocket to ${opts.wsUrl}: ${(e as Error).message.split('\n')[0]}`);
      }
      const done = b.page.evaluate(() => (globalThis as unknown as { fbLive: PageLive }).fbLive.liveDone()).then(
        (r): LiveResult => {
          tree.sample();
          return {
            framesSent: r.framesSent,
            framesLate: r.framesLate,
            framesBackpressured: r.framesBackpressured,
            slots: r.slots,
            meanWorkMs: r.meanWorkMs,
            closedByConsumer: r.error !== null,
          };
        },
        (e: unknown): never => {
          if (isFbError(e)) throw e;
          throw fbError('FB_ERR_PEER_GONE', tree.closed() ? 'the browser was closed before the live stream ended' : `the live page failed: ${(e as Error).message.split('\n')[0]}`);
        },
      );
      done.catch(() => undefined); // callers may close() without awaiting done
      return { browserPids, browserCpuUs, done, clock, chromiumVersion: b.version, close };
    };
    return { browserPids, browserCpuUs, clock, chromiumVersion: b.version, begin, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Launches and starts streaming at once (launchLiveProducer, then begin). */
export async function startLiveProducer(opts: LiveProducerOptions): Promise<LiveProducer> {
  const l = await launchLiveProducer(opts);
  try {
    return await l.begin();
  } catch (e) {
    await l.close();
    throw e;
  }
}

/**
 * Checks a live frame (header + payload) as received: header fields consistent with the
 * message length, and the sampled checksum in bytes 52..55. Null when right, else a reason.
 * Reads one u32 per 4 KiB page, so it touches every page of the frame.
 */
export function verifyLiveFrame(frame: Uint8Array): string | null {
  if (frame.byteLength < HEADER_BYTES) return `frame is ${frame.byteLength} B, shorter than the header`;
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (dv.getUint32(0, true) !== FRAME_MAGIC) return 'bad magic';
  if (dv.getUint16(4, true) !== FRAME_VERSION || dv.getUint32(12, true) !== HEADER_BYTES) return 'bad version or header size';
  const format = dv.getUint16(6, true);
  if (format !== 0 && format !== 1) return `bad format ${format}`;
  const width = dv.getUint32(40, true);
  const height = dv.getUint32(44, true);
  const payload = dv.getUint32(48, true);
  if (payload !== frame.byteLength - HEADER_BYTES) return `header says ${payload} payload bytes, message holds ${frame.byteLength - HEADER_BYTES}`;
  if (payload !== payloadBytesFor(format === 0 ? 'i420' : 'rgba', width, height)) return `payload ${payload} B does not fit ${width}x${height} ${format === 0 ? 'i420' : 'rgba'}`;
  if (dv.getUint32(56, true) !== LIVE_TAG) return 'no live checksum tag in the reserved bytes';
  const want = dv.getUint32(52, true);
  const got = sampledChecksum(dv, HEADER_BYTES, payload);
  return got === want ? null : `sampled checksum 0x${got.toString(16)} != header 0x${want.toString(16)}`;
}
