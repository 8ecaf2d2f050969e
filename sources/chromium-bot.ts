import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchCallPage, watchTree, type LaunchedBrowser } from './browser';
import { measureClockOffset, type ClockSync } from './chromium-live';
import { fbError, isFbError } from '../core/errors';
import { frameSpec } from '../core/spec';

/**
 * The bot as it really is (`--source chromium-bot`): headless Chromium decodes a call's video with
 * WebCodecs and sends each decoded I420 frame over the page's own WebSocket (fixtures/page/bot.js).
 * The control is the same page with `send: false`: it decodes, copies and checksums every frame
 * but never calls ws.send(), so the browser's CPU without the send is measured the same way.
 *
 * Contract:
 *  - prepareBot() launches the browser, measures the page clock's offset, encodes the clip once
 *    (VideoEncoder, VP8, a call's bitrate, a keyframe every keyframeSeconds) and opens the socket
 *    (when wsUrl is given): everything slow happens here, before the harness's start barrier.
 *  - start() runs the paced loop from t0Ns to windowEndNs (harness clock) and resolves when it ended.
 *  - Every frame carries the framebench header with the payload checksum [A, B] and flags bit 0,
 *    so the consumer checks every byte like any frame (docs/checksum.md).
 *  - A page without WebCodecs, or whose WebCodecs cannot encode and decode the clip, is
 *    FB_ERR_WEBCODECS_MISSING, raised by prepareBot (and by checkWebCodecs, the CLI's pre-flight).
 *  - close() ends the whole browser process tree on every path and is idempotent.
 */
export interface BotOptions {
  /** The consumer's ws:// address; null: no socket at all. */
  wsUrl: string | null;
  /** false: the control (no ws.send). */
  send: boolean;
  width: number;
  height: number;
  fps: number;
  producerId: number;
  chromiumPath?: string;
  /** Target bitrate at 1080p, scaled by pixel count for other sizes (at least 300 kbit/s). Default 3 Mbit/s. */
  bitrateBps1080p?: number;
  /** Clip length and keyframe interval, s (default 2 and 2: one keyframe per loop of the clip). */
  clipSeconds?: number;
  keyframeSeconds?: number;
  /** Test-only: from this sequence number on, one payload byte is changed after the checksum (a corrupt frame). */
  flipByteFrom?: number;
  /**
   * A directory shared by the run's bot pages (BOT_CLIP_DIR_ENV): the first page that needs a clip of a given
   * size, fps, bitrate and keyframe interval encodes it and leaves it there; the others decode that one.
   */
  clipDir?: string;
}

/** The run's clip directory, set by the runner for its children (harness/runner.ts). */
export const BOT_CLIP_DIR_ENV = 'FRAMEBENCH_BOT_CLIP_DIR';

interface ClipFile {
  encodeMs: number;
  chunks: Array<{ type: string; timestamp: number; data: string }>;
}

/** What prepare made: the clip as encoded once. */
export interface ClipInfo {
  codec: string;
  clipFrames: number;
  keyframes: number;
  keyEvery: number;
  clipBytes: number;
  bitrateKbps: number;
  encodeMs: number;
  /** True when this page decoded a clip another page of the run encoded. */
  cached: boolean;
}

/** What the page reports at the end of its loop (mean ms are per processed frame). */
export interface BotResult {
  send: boolean;
  framesProcessed: number;
  framesSent: number;
  framesLate: number;
  framesBackpressured: number;
  slots: number;
  /** Slots due inside the measurement window, frames processed in it, and late slots of it. */
  windowSlots: number;
  windowFrames: number;
  windowLate: number;
  /** Decoded frames whose visible clip-index stamp was not the one expected (decoder order). */
  stampErrors: number;
  frameFormat: string;
  error: string | null;
  /** Mean ms per frame: waiting for the decoder, copyTo, checksum, ws.send, all of it. */
  ms: { wait: number; copy: number; checksum: number; send: number; work: number };
}

export interface BotWindow {
  t0Ns: number;
  windowStartNs: number;
  windowEndNs: number;
}

export interface PreparedBot {
  clip: ClipInfo;
  clock: ClockSync;
  chromiumVersion: string;
  browserPids(): number[];
  /** CPU of the browser's whole process tree (µs, 10 ms grain), from /proc/<pid>/stat. */
  browserCpuUs(): { user: number; system: number };
  start(w: BotWindow): Promise<BotResult>;
  close(): Promise<void>;
}

interface PageBot {
  prepare(o: object): Promise<ClipInfo>;
  start(o: object): Promise<boolean>;
  done(): Promise<BotResult>;
  webCodecsMissing(): string | null;
}

/** Test-only: FRAMEBENCH_TEST_NO_WEBCODECS=1 removes the WebCodecs constructors before the page loads. */
export const NO_WEBCODECS_ENV = 'FRAMEBENCH_TEST_NO_WEBCODECS';

function removeWebCodecs(): void {
  for (const k of ['VideoEncoder', 'VideoDecoder', 'VideoFrame', 'EncodedVideoChunk']) delete (globalThis as Record<string, unknown>)[k];
}

const MISSING_PREFIX = 'WEBCODECS_MISSING: ';

/** The page's error as an FbError: its WebCodecs verdict keeps its own code. */
function pageError(e: unknown, what: string): never {
  if (isFbError(e)) throw e;
  const msg = (e as Error).message?.split('\n')[0] ?? String(e);
  const at = msg.indexOf(MISSING_PREFIX);
  if (at >= 0) throw fbError('FB_ERR_WEBCODECS_MISSING', msg.slice(at + MISSING_PREFIX.length));
  throw fbError('FB_ERR_PEER_GONE', `${what}: ${msg}`);
}

function checkOptions(o: BotOptions): void {
  frameSpec('i420', o.width, o.height); // FB_ERR_BAD_RESOLUTION (even sizes)
  if (!(o.fps > 0) || !Number.isFinite(o.fps)) throw fbError('FB_ERR_BAD_NUMBER', `bot fps must be > 0, got ${o.fps}`);
  if (!Number.isInteger(o.producerId) || o.producerId < 0 || o.producerId > 0xffffffff) throw fbError('FB_ERR_BAD_NUMBER', `producer id ${o.producerId} is not a u32`);
  if (o.wsUrl !== null && !/^wss?:\/\//.test(o.wsUrl)) throw fbError('FB_ERR_USAGE', `bot wsUrl must be ws://..., got '${o.wsUrl}'`);
}

async function launchBotPage(chromiumPath: string | undefined): Promise<LaunchedBrowser> {
  const noWebCodecs = process.env[NO_WEBCODECS_ENV] === '1';
  return launchCallPage({
    chromiumPath, width: 320, height: 240, page: 'bot.html',
    ...(noWebCodecs ? { beforeLoad: (p) => p.evaluateOnNewDocument(removeWebCodecs) } : {}),
  });
}

/** Pre-flight: FB_ERR_WEBCODECS_MISSING (or FB_ERR_CHROMIUM_MISSING) when the bot page cannot run here. */
export async function checkWebCodecs(chromiumPath?: string): Promise<string> {
  const b = await launchBotPage(chromiumPath);
  try {
    const missing = await b.page.evaluate(() => (globalThis as unknown as { fbBot: PageBot }).fbBot.webCodecsMissing());
    if (missing) throw fbError('FB_ERR_WEBCODECS_MISSING', missing);
    return b.version;
  } finally {
    await b.close();
  }
}

/** Launches the bot page, syncs clocks, encodes the clip and opens the socket. */
export async function prepareBot(opts: BotOptions): Promise<PreparedBot> {
  checkOptions(opts);
  const b = await launchBotPage(opts.chromiumPath);
  const tree = watchTree(b);
  const close = tree.close;
  try {
    const cdp = await b.page.createCDPSession();
    const clock = await measureClockOffset(cdp);
    await cdp.detach().catch(() => undefined);
    const pixels = opts.width * opts.height;
    const clipSeconds = opts.clipSeconds ?? 2;
    const keySeconds = opts.keyframeSeconds ?? 2;
    const pageOpts = {
      width: opts.width, height: opts.height, fps: opts.fps, codec: 'vp8', send: opts.send, wsUrl: opts.wsUrl,
      bitrateBps: Math.max(300_000, Math.round(((opts.bitrateBps1080p ?? 3_000_000) * pixels) / (1920 * 1080))),
      clipFrames: Math.max(1, Math.round(clipSeconds * opts.fps)), keyEvery: Math.max(1, Math.round(keySeconds * opts.fps)),
    };
    const clipFile = opts.clipDir ? join(opts.clipDir, `clip-${opts.width}x${opts.height}-${opts.fps}fps-${pageOpts.bitrateBps}bps-${pageOpts.clipFrames}f-k${pageOpts.keyEvery}.json`) : null;
    const cached = clipFile && existsSync(clipFile) ? (JSON.parse(readFileSync(clipFile, 'utf8')) as ClipFile) : null;
    const made = await b.page
      .evaluate((o) => (globalThis as unknown as { fbBot: PageBot }).fbBot.prepare(o), { ...pageOpts, clip: cached, exportClip: Boolean(clipFile && !cached) })
      .catch((e: unknown) => pageError(e, 'the bot page could not prepare'));
    const { clip: exported, ...clip } = made as ClipInfo & { clip?: ClipFile };
    if (clipFile && exported) {
      writeFileSync(`${clipFile}.${process.pid}.tmp`, JSON.stringify(exported));
      renameSync(`${clipFile}.${process.pid}.tmp`, clipFile);
    }
    const start = async (w: BotWindow): Promise<BotResult> => {
      const o = { fps: opts.fps, producerId: opts.producerId, offsetNs: clock.offsetNs, flipByteFrom: opts.flipByteFrom ?? -1, ...w };
      try {
        await b.page.evaluate((x) => (globalThis as unknown as { fbBot: PageBot }).fbBot.start(x), o);
        const r = await b.page.evaluate(() => (globalThis as unknown as { fbBot: PageBot }).fbBot.done());
        tree.sample();
        return r;
      } catch (e) {
        if (tree.closed()) throw fbError('FB_ERR_PEER_GONE', 'the browser was closed before the bot stream ended');
        return pageError(e, 'the bot page failed');
      }
    };
    return { clip, clock, chromiumVersion: b.version, browserPids: tree.pids, browserCpuUs: tree.cpuUs, start, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Chromium's documented wire chunk: a message is cut into WebSocket frames of at most this many bytes. */
export const CHROMIUM_CHUNK_BYTES = 131_000;

/** What the consumer's wire tap saw, against 131,000-byte chunks: flagged when the counts differ. */
export function wireVerdict(messageBytes: number, fragmentsPerMessage: number, maxFragments: number): { expected: number; meanFragmentBytes: number; flag: string | null } {
  const expected = Math.ceil(messageBytes / CHROMIUM_CHUNK_BYTES);
  const meanFragmentBytes = fragmentsPerMessage > 0 ? Math.round(messageBytes / fragmentsPerMessage) : 0;
  const flag =
    fragmentsPerMessage > 0 && (Math.abs(fragmentsPerMessage - expected) > 1e-9 || maxFragments !== expected)
      ? `Chromium cut each ${messageBytes} B message into ${fragmentsPerMessage.toFixed(1)} wire frames on average (max ${maxFragments}, mean ${meanFragmentBytes} B), not ${expected} chunks of 131,000 B`
      : null;
  return { expected, meanFragmentBytes, flag };
}
