import { medianInterval, type Interval } from '../core/robust-stats';
import { median } from '../core/robust-stats';
import { BOT_CONTROL_SOURCE, BOT_SCENARIOS, BOT_SOURCE, type BotCaseFigures, type BotRound } from '../core/bot-cost';
import { HEADER_BYTES } from '../core/frame';
import type { ConsumerReport, CaseSpec } from '../core/case';
import type { CaseResult } from '../core/result';
import { wireVerdict } from '../sources/chromium-bot';

/**
 * The bot run's harness side (`--source chromium-bot`, core/bot-cost.ts): which cases a round
 * holds, how the no-send control's window is judged, and the bot figures folded over rounds.
 */

type PlannedCase = Omit<CaseSpec, 'runDir'>;

/**
 * The three cases of a bot run from its one planned ws case: the bot sending, its no-send control,
 * and (when shm can run here) a Node producer writing the same frames into the shared-memory ring.
 */
export function botCases(base: PlannedCase, shmAvailable: boolean): PlannedCase[] {
  const out: PlannedCase[] = [
    { ...base, caseId: `${base.caseId}-send`, scenario: BOT_SCENARIOS.send, source: BOT_SOURCE },
    { ...base, caseId: `${base.caseId}-control`, scenario: BOT_SCENARIOS.control, source: BOT_CONTROL_SOURCE },
  ];
  if (shmAvailable) {
    out.push({ ...base, caseId: `${base.caseId}-shm`, transport: 'shm', scenario: BOT_SCENARIOS.shm, source: 'synthetic', transportOptions: {} });
  }
  return out;
}

/**
 * The control's window: its consumer must see no frame at all (a frame is FB_ERR_PROTOCOL); its
 * frames are the ones the page processed, so a window without consumer frames is not a timeout,
 * and its fps is the page's.
 */
export function judgeControl(result: CaseResult, consumer: ConsumerReport): CaseResult {
  const r = { ...result };
  if (consumer.framesReceived > 0) {
    r.status = 'FB_ERR_PROTOCOL';
    r.error = `the no-send control delivered ${consumer.framesReceived} frame(s) to the consumer`;
    return r;
  }
  if (r.status === 'FB_ERR_TIMEOUT' && r.window.producerFrames > 0) {
    r.status = 'ok';
    delete r.error;
  }
  r.fps = r.window.seconds > 0 ? Math.round((r.window.producerFrames / r.window.seconds) * 10) / 10 : 0;
  return r;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
const round = (x: number, d: number): number => Math.round(x * 10 ** d) / 10 ** d;
/** A finite number for the result file (JSON has no NaN): 0 when the window had nothing to count. */
const finite = (x: number): number => (Number.isFinite(x) ? x : 0);

/** The median and interval of the ok rounds' values; n = 0 (all 0) when no round was ok. */
function intervalOf(xs: number[]): Interval {
  const iv = medianInterval(xs.filter((x) => Number.isFinite(x)));
  return iv.n > 0 ? iv : { n: 0, median: 0, lo: 0, hi: 0, level: 0 };
}

/** The bot figures of one bot case over its rounds (in round order), from each window's page counts. */
export function botFigures(rounds: CaseResult[]): BotCaseFigures | undefined {
  const first = rounds.find((r) => r.status === 'ok') ?? rounds[0];
  const src = first?.transportStats.producer.producer;
  if (src !== BOT_SOURCE && src !== BOT_CONTROL_SOURCE) return undefined;
  const p = first.transportStats.producer;
  const perRound: BotRound[] = rounds.map((r, i) => {
    const s = r.transportStats.producer;
    const slots = num(s.windowSlots);
    return {
      round: i,
      ok: r.status === 'ok',
      cpuUsPerFrame: finite(r.cpuUsPerFrame.producer),
      pageFps: finite(r.window.seconds > 0 ? round(num(s.windowFrames) / r.window.seconds, 2) : NaN),
      latePct: finite(slots > 0 ? round((100 * num(s.windowLate)) / slots, 2) : NaN),
      workMs: finite(num(s.workMs)),
      sendMs: finite(num(s.sendMs)),
    };
  });
  const ok = perRound.filter((r) => r.ok);
  const out: BotCaseFigures = {
    role: src === BOT_SOURCE ? 'send' : 'control',
    chromiumVersion: String(p.chromiumVersion ?? ''),
    codec: String(p.codec ?? ''),
    clipFrames: num(p.clipFrames) || 0,
    keyEvery: num(p.keyEvery) || 0,
    bitrateKbps: num(p.bitrateKbps) || 0,
    encodeMs: num(p.encodeMs) || 0,
    stampErrors: rounds.reduce((a, r) => a + (num(r.transportStats.producer.stampErrors) || 0), 0),
    rounds: perRound,
    pageFps: intervalOf(ok.map((r) => r.pageFps)),
    latePct: intervalOf(ok.map((r) => r.latePct)),
  };
  if (out.role === 'send') {
    const okCases = rounds.filter((r) => r.status === 'ok');
    const c = (k: string): number[] => okCases.map((r) => num(r.transportStats.consumer[k])).filter((x) => Number.isFinite(x));
    const messageBytes = first.frameBytes + HEADER_BYTES;
    const fpm = c('fragmentsPerMessage');
    const max = Math.max(0, ...c('maxFragmentsPerMessage'));
    const shares = okCases
      .map((r) => num(r.transportStats.consumer.maskedBytes) / (num(r.transportStats.consumer.messages) * messageBytes))
      .filter((x) => Number.isFinite(x));
    if (fpm.length) {
      const mean = median(fpm);
      const v = wireVerdict(messageBytes, mean, max);
      out.wire = {
        fragmentsPerMessage: round(mean, 2), maxFragmentsPerMessage: max, expectedAt131000: v.expected,
        meanFragmentBytes: v.meanFragmentBytes, maskedShare: shares.length ? round(median(shares), 4) : 0, flag: v.flag,
      };
    }
  }
  return out;
}
