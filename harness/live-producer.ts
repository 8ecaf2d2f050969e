import { readFileSync } from 'node:fs';
import { nowNs, sleepUntilNs } from '../core/clock';
import { fbError } from '../core/errors';
import { BOT_CONTROL_SOURCE, BOT_SOURCE } from '../core/bot-cost';
import { parseProcIo } from '../measure/proc-stats';
import type { CaseSpec, ProducerReport, TransportStats } from '../core/case';
import { MeasureWindow } from '../measure/window';
import type { LaunchedLive } from '../sources/chromium-live';
import type { PreparedBot } from '../sources/chromium-bot';

/**
 * The Chromium producers of a case. Chromium is launched (and the bot's clip encoded) at the
 * case's init, before the start barrier, so the warm-up does not have to cover a browser start:
 *
 *  - `--source chromium` (live mode, sources/chromium-live.ts): the call page draws each frame,
 *    converts it in JavaScript and sends it over the page's own WebSocket (RGBA, or pages
 *    without WebCodecs).
 *  - `--source chromium-bot` (sources/chromium-bot.ts): the bot page decodes a VP8 clip with
 *    WebCodecs and sends each decoded I420 frame; its control (`chromium-bot-control`) is the same
 *    page without ws.send(). The page counts the frames it processed in the window (its own
 *    clock, converted), and those are the producer's frames: with and without the send, CPU per
 *    frame is over the same kind of count.
 *
 * The producer side's CPU and kernel bytes are the browser's whole process tree's; its copy
 * counters are those of every process that inherited the interposer (this driver and the browser's).
 */
export interface PreparedLiveProducer {
  run(t0Ns: number): Promise<ProducerReport>;
  close(): Promise<void>;
}

interface Browserish {
  browserCpuUs(): { user: number; system: number };
  browserPids(): number[];
}

/** CPU and kernel bytes of the browser's process tree, for MeasureWindow. */
function treeReader(b: Browserish): () => { userUs: number; systemUs: number; rchar: number; wchar: number } {
  return () => {
    const c = b.browserCpuUs();
    let rchar = 0;
    let wchar = 0;
    for (const pid of b.browserPids()) {
      try {
        const io = parseProcIo(readFileSync(`/proc/${pid}/io`, 'utf8'));
        rchar += io.rchar;
        wchar += io.wchar;
      } catch {
        /* a process that just exited */
      }
    }
    return { userUs: c.user, systemUs: c.system, rchar, wchar };
  };
}

function windowOf(spec: CaseSpec, t0Ns: number): { start: number; end: number } {
  const start = t0Ns + spec.warmupMs * 1e6;
  return { start, end: start + spec.durationMs * 1e6 };
}

export function isChromiumSource(source: string): boolean {
  return source === 'chromium' || source === BOT_SOURCE || source === BOT_CONTROL_SOURCE;
}

/** Launches the browser of a Chromium case (init, before the barrier). */
export async function prepareLiveProducer(spec: CaseSpec, producerId: number, address: string): Promise<PreparedLiveProducer> {
  if (spec.source === BOT_SOURCE || spec.source === BOT_CONTROL_SOURCE) return prepareBotProducer(spec, producerId, address);
  return prepareCallPageProducer(spec, producerId, address);
}

async function prepareCallPageProducer(spec: CaseSpec, producerId: number, address: string): Promise<PreparedLiveProducer> {
  const live = require('../sources/chromium-live') as typeof import('../sources/chromium-live');
  const [width, height] = spec.sizes[0];
  const l: LaunchedLive = await live.launchLiveProducer({
    wsUrl: address, format: spec.format, width, height, fps: spec.fps, producerId,
    durationMs: spec.warmupMs + spec.durationMs, chromiumPath: process.env.CHROMIUM_PATH,
  });
  const run = async (t0Ns: number): Promise<ProducerReport> => {
    const w = windowOf(spec, t0Ns);
    await sleepUntilNs(t0Ns);
    const lp = await l.begin(Math.max(100, (w.end - nowNs()) / 1e6));
    const window = new MeasureWindow(w.start, w.end, { cpu: treeReader(l) });
    const r = await lp.done;
    return {
      producerId,
      framesGenerated: r.framesSent,
      framesAccepted: r.framesSent,
      framesDroppedByPolicy: 0,
      window: window.figures(),
      windowFramesFromConsumer: true,
      transportStats: {
        producer: 'chromium', chromiumVersion: l.chromiumVersion, browserProcesses: l.browserPids().length, framesLate: r.framesLate,
        framesBackpressured: r.framesBackpressured, slots: r.slots, meanWorkMs: Math.round(r.meanWorkMs * 100) / 100,
      },
    };
  };
  return { run, close: () => l.close() };
}

async function prepareBotProducer(spec: CaseSpec, producerId: number, address: string): Promise<PreparedLiveProducer> {
  const botMod = require('../sources/chromium-bot') as typeof import('../sources/chromium-bot');
  const send = spec.source === BOT_SOURCE;
  const [width, height] = spec.sizes[0];
  const bot: PreparedBot = await botMod.prepareBot({
    wsUrl: address, send, width, height, fps: spec.fps, producerId, chromiumPath: process.env.CHROMIUM_PATH,
    clipDir: process.env[botMod.BOT_CLIP_DIR_ENV],
    ...(spec.inject?.flipByte ? { flipByteFrom: 5 } : {}),
  });
  const run = async (t0Ns: number): Promise<ProducerReport> => {
    const w = windowOf(spec, t0Ns);
    const window = new MeasureWindow(w.start, w.end, { cpu: treeReader(bot) });
    const r = await bot.start({ t0Ns, windowStartNs: w.start, windowEndNs: w.end });
    if (r.error?.startsWith('WebSocket closed')) throw fbError('FB_ERR_PEER_GONE', `the bot page's socket: ${r.error}`);
    if (r.error) throw fbError('FB_ERR_WEBCODECS_MISSING', `the bot page could not decode the clip: ${r.error}`);
    const stats: TransportStats = {
      producer: spec.source, chromiumVersion: bot.chromiumVersion, browserProcesses: bot.browserPids().length,
      codec: bot.clip.codec, clipFrames: bot.clip.clipFrames, keyframes: bot.clip.keyframes, keyEvery: bot.clip.keyEvery,
      bitrateKbps: bot.clip.bitrateKbps, encodeMs: bot.clip.encodeMs, clipCached: bot.clip.cached ? 1 : 0, frameFormat: r.frameFormat,
      framesProcessed: r.framesProcessed, framesLate: r.framesLate, framesBackpressured: r.framesBackpressured, slots: r.slots,
      windowSlots: r.windowSlots, windowFrames: r.windowFrames, windowLate: r.windowLate, stampErrors: r.stampErrors,
      waitMs: r.ms.wait, copyMs: r.ms.copy, checksumMs: r.ms.checksum, sendMs: r.ms.send, workMs: r.ms.work,
      clockRttUs: Math.round(bot.clock.rttNs / 1e3),
    };
    return {
      producerId,
      framesGenerated: r.framesSent,
      framesAccepted: r.framesSent,
      framesDroppedByPolicy: 0,
      // the page's own count of frames it processed in the window (the control sends none)
      window: { ...window.figures(), frames: r.windowFrames },
      transportStats: stats,
    };
  };
  return { run, close: () => bot.close() };
}
