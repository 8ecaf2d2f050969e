import { HOURS_PER_YEAR, modelFrameBytes, type CostModelConfig } from './cost';
import { medianInterval, type Interval } from './robust-stats';
import type { CaseResult, RunResult } from './result';

/**
 * The bot figure (`--source chromium-bot`): what the WebSocket send costs the bot.
 *
 * A bot run measures, in the same interleaved rounds, three cases of one frame size and fps:
 *  - the bot page sending each decoded I420 frame over its own WebSocket (`chromium-bot`);
 *  - the same page without the send (`chromium-bot-control`): decode, copyTo, checksum;
 *  - a Node producer writing the same frame size into the shared-memory ring (`shm`, synthetic
 *    frames): what a bot that could write the ring would pay instead. A page cannot: this is an
 *    ASSUMPTION, labelled so wherever it is shown.
 * Per round: with = the browser tree's CPU per frame the page processed (send case), without = the
 * same for the control, send = with − without, share = send / with; then medians with
 * order-statistic intervals over the rounds where both cases were ok (paired round by round).
 */
export const BOT_SOURCE = 'chromium-bot';
export const BOT_CONTROL_SOURCE = 'chromium-bot-control';
/** Scenario labels of the bot run's three cases. */
export const BOT_SCENARIOS = { send: 'bot', control: 'bot-control', shm: 'bot-shm-write' } as const;

/** One round of a bot case, from the page's own counts and the browser tree's CPU. */
export interface BotRound {
  round: number;
  ok: boolean;
  /** Browser process tree CPU per frame the page processed in the window, µs. */
  cpuUsPerFrame: number;
  /** Frames the page processed per second of the window. */
  pageFps: number;
  /** Late (skipped) slots, % of the slots due in the window. */
  latePct: number;
  /** Mean page time per frame, ms: all of it, and the ws.send() call alone. */
  workMs: number;
  sendMs: number;
}

/** What a bot case (send or control) adds to its CaseResult (`bot`). */
export interface BotCaseFigures {
  role: 'send' | 'control';
  chromiumVersion: string;
  codec: string;
  clipFrames: number;
  keyEvery: number;
  bitrateKbps: number;
  encodeMs: number;
  /** Decoded frames whose clip-index stamp was not the expected one, over all rounds. */
  stampErrors: number;
  rounds: BotRound[];
  pageFps: Interval;
  latePct: Interval;
  /** Send case only: the wire as Chromium made it, seen by the consumer's tap (medians over rounds). */
  wire?: {
    fragmentsPerMessage: number;
    maxFragmentsPerMessage: number;
    /** Wire frames per message if Chromium cut 131,000-byte chunks. */
    expectedAt131000: number;
    meanFragmentBytes: number;
    /** Masked payload bytes / payload bytes received (1 = every byte masked). */
    maskedShare: number;
    /** Set when the fragments differ from 131,000-byte chunks. */
    flag: string | null;
  };
}

export interface BotSendFigure {
  width: number;
  height: number;
  fps: number;
  /** Rounds where both the send case and the control were ok. */
  pairedRounds: number;
  withSendUs: Interval;
  withoutSendUs: Interval;
  /** with − without, per round. */
  sendUs: Interval;
  /** (with − without) / with, %, per round. */
  sharePct: Interval;
  /** ASSUMPTION: a Node producer's CPU per frame writing the same frame into the shm ring (null: not measured). */
  shmWriteUs: Interval | null;
  /** sendUs − shmWriteUs per round: what moving the send to shared memory would save the bot, µs per frame. */
  savedUs: Interval | null;
  send: BotCaseFigures;
  control: BotCaseFigures;
}

function okRound(r: BotRound | undefined): r is BotRound {
  return Boolean(r && r.ok && Number.isFinite(r.cpuUsPerFrame) && r.cpuUsPerFrame > 0);
}

/** The bot figure of a run, or null when it has no bot case and control. */
export function botSendFigure(run: Pick<RunResult, 'results'>): BotSendFigure | null {
  const send = run.results.find((c) => c.bot?.role === 'send');
  const control = run.results.find((c) => c.bot?.role === 'control');
  if (!send?.bot || !control?.bot) return null;
  const shm = run.results.find((c) => c.scenario === BOT_SCENARIOS.shm && c.transport === 'shm');
  const shmRounds = (shm?.rounds ?? []).map((r) => (r.status === 'ok' ? r.cpuUsPerFrame.producer : NaN));
  const withs: number[] = [];
  const withouts: number[] = [];
  const diffs: number[] = [];
  const shares: number[] = [];
  const shmPaired: number[] = [];
  const saved: number[] = [];
  for (const s of send.bot.rounds) {
    const c = control.bot.rounds.find((x) => x.round === s.round);
    if (!okRound(s) || !okRound(c)) continue;
    withs.push(s.cpuUsPerFrame);
    withouts.push(c.cpuUsPerFrame);
    const d = s.cpuUsPerFrame - c.cpuUsPerFrame;
    diffs.push(d);
    shares.push((100 * d) / s.cpuUsPerFrame);
    const w = shmRounds[s.round];
    if (Number.isFinite(w) && w > 0) {
      shmPaired.push(w);
      saved.push(d - w);
    }
  }
  return {
    width: send.width,
    height: send.height,
    fps: send.bot.rounds.length ? Math.round(send.bot.pageFps.median) : 0,
    pairedRounds: diffs.length,
    withSendUs: medianInterval(withs),
    withoutSendUs: medianInterval(withouts),
    sendUs: medianInterval(diffs),
    sharePct: medianInterval(shares),
    shmWriteUs: shmPaired.length ? medianInterval(shmPaired) : null,
    savedUs: saved.length ? medianInterval(saved) : null,
    send: send.bot,
    control: control.bot,
  };
}

export interface BotCostLine {
  /** Bot CPU saved per frame by moving the send to shared memory (send − shm write), µs. */
  savedUsPerFrame: Interval;
  /** That saving as a share of the bot's CPU with the send, %. */
  savedPctOfBot: number;
  /** Streams of the model's frame at the model's fps, and the vCPUs and $/year saved over them. */
  streams: number;
  vcpusSaved: number;
  usdPerYear: number;
  /** The saving per frame was measured at this frame size and scaled by bytes to the model's. */
  scaledFrom: string | null;
}

/**
 * "Bot CPU saved by moving the send to shared memory": (send cost − Node shm write) per frame, scaled
 * by bytes to the cost model's frame when the run's differs, times the model's fps and fleet.
 */
export function botCostLine(fig: BotSendFigure, cfg: CostModelConfig): BotCostLine | null {
  if (!fig.savedUs || !(fig.savedUs.n > 0)) return null;
  const runBytes = (fig.width * fig.height * 3) / 2;
  const modelBytes = modelFrameBytes(cfg);
  const scale = modelBytes / runBytes;
  const s = (x: number): number => x * scale;
  const savedUsPerFrame: Interval = { ...fig.savedUs, median: s(fig.savedUs.median), lo: s(fig.savedUs.lo), hi: s(fig.savedUs.hi) };
  const streams = cfg.fleetBytesPerSecond / (modelBytes * cfg.fps);
  const vcpusSaved = (savedUsPerFrame.median * cfg.fps * streams) / 1e6;
  return {
    savedUsPerFrame,
    savedPctOfBot: fig.withSendUs.median > 0 ? (100 * fig.savedUs.median) / fig.withSendUs.median : NaN,
    streams,
    vcpusSaved,
    usdPerYear: vcpusSaved * HOURS_PER_YEAR * cfg.vcpuHourUsd,
    scaledFrom: Math.abs(scale - 1) > 1e-9 ? `${fig.width}x${fig.height} i420` : null,
  };
}

/** Whether a case is one of the bot's two Chromium cases. */
export function isBotCase(c: Pick<CaseResult, 'bot'>): boolean {
  return c.bot !== undefined;
}
