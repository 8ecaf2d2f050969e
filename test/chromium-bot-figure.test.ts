import { describe, expect, it } from 'vitest';
import { botCostLine, botSendFigure, BOT_SCENARIOS, type BotCaseFigures, type BotRound } from '../core/bot-cost';
import { DEFAULT_COST_MODEL, HOURS_PER_YEAR } from '../core/cost';
import { medianInterval } from '../core/robust-stats';
import type { CaseResult, CaseRound } from '../core/result';
import type { ConsumerReport } from '../core/case';
import { botFigures, judgeControl } from '../harness/bot-case';
import { botMarkdown, botTerminal } from '../reporters/bot';

// The bot figure's arithmetic on made-up rounds: pairing, share, the shm assumption, the control's verdict.

function rounds(cpu: number[]): BotRound[] {
  return cpu.map((c, i) => ({ round: i, ok: Number.isFinite(c), cpuUsPerFrame: c, pageFps: 30, latePct: 0, workMs: 5, sendMs: 1 }));
}

function botCase(role: 'send' | 'control', cpu: number[]): CaseResult {
  const bot: BotCaseFigures = {
    role, chromiumVersion: 'Chrome/156', codec: 'vp8', clipFrames: 60, keyEvery: 60, bitrateKbps: 3000, encodeMs: 9000, stampErrors: 0,
    rounds: rounds(cpu), pageFps: medianInterval([30, 30, 30]), latePct: medianInterval([0, 0, 0]),
  };
  return { transport: 'ws', scenario: role === 'send' ? BOT_SCENARIOS.send : BOT_SCENARIOS.control, width: 1920, height: 1080, bot } as unknown as CaseResult;
}

function shmCase(cpu: number[]): CaseResult {
  const rs = cpu.map((c, i) => ({ round: i, status: 'ok', cpuUsPerFrame: { producer: c, consumer: 0, total: c } }) as unknown as CaseRound);
  return { transport: 'shm', scenario: BOT_SCENARIOS.shm, width: 1920, height: 1080, rounds: rs } as unknown as CaseResult;
}

describe('the bot figure (core/bot-cost.ts)', () => {
  it('pairs send and control round by round: difference, share, and the shm write beside them', () => {
    const f = botSendFigure({ results: [botCase('send', [100, 120, 110, 90, 105]), botCase('control', [60, 70, 66, 54, 63]), shmCase([4, 5, 4, 6, 5])] });
    expect(f).not.toBeNull();
    expect(f!.pairedRounds).toBe(5);
    expect(f!.sendUs.median).toBe(42); // diffs 40, 50, 44, 36, 42
    expect(f!.sendUs.lo).toBe(36);
    expect(f!.sendUs.hi).toBe(50);
    expect(f!.sharePct.median).toBeCloseTo(40, 6); // 40/100, 50/120, 44/110, 36/90, 42/105: four of five are 40%
    expect(f!.shmWriteUs!.median).toBe(5);
    expect(f!.savedUs!.median).toBe(37); // 36, 45, 40, 30, 37
  });

  it('leaves out a round where either side failed (no pairing across rounds)', () => {
    const f = botSendFigure({ results: [botCase('send', [100, NaN, 110]), botCase('control', [60, 70, NaN])] });
    expect(f!.pairedRounds).toBe(1);
    expect(f!.sendUs.median).toBe(40);
    expect(f!.shmWriteUs).toBeNull();
    expect(f!.savedUs).toBeNull();
    expect(botCostLine(f!, DEFAULT_COST_MODEL)).toBeNull();
  });

  it('is null without both a send case and a control', () => {
    expect(botSendFigure({ results: [botCase('send', [1])] })).toBeNull();
  });

  it('prices the saving over the model fleet, labelled as an assumption in every report', () => {
    const run = { results: [botCase('send', [100, 100, 100]), botCase('control', [60, 60, 60]), shmCase([10, 10, 10])] };
    const c = botCostLine(botSendFigure(run)!, DEFAULT_COST_MODEL)!;
    expect(c.savedUsPerFrame.median).toBe(30);
    expect(c.scaledFrom).toBeNull();
    expect(c.vcpusSaved).toBeCloseTo((30 * 30 * c.streams) / 1e6, 6);
    expect(c.usdPerYear).toBeCloseTo(c.vcpusSaved * HOURS_PER_YEAR * DEFAULT_COST_MODEL.vcpuHourUsd, 6);
    expect(botTerminal(run)).toMatch(/ASSUMPTION/);
    expect(botMarkdown(run, DEFAULT_COST_MODEL).join('\n')).toMatch(/bot CPU saved by moving the send to shared memory: 30 .*ASSUMPTION/);
  });
});

describe('the control and the per-round bot figures (harness/bot-case.ts)', () => {
  const base = { status: 'FB_ERR_TIMEOUT', error: 'no frame completed inside the measurement window', fps: 0, window: { seconds: 2, producerFrames: 58, consumerFrames: 0 } } as unknown as CaseResult;

  it('a control whose consumer saw nothing is ok, at the page fps', () => {
    const r = judgeControl(base, { framesReceived: 0 } as ConsumerReport);
    expect(r.status).toBe('ok');
    expect(r.error).toBeUndefined();
    expect(r.fps).toBe(29);
  });

  it('a control that delivered a frame fails', () => {
    const r = judgeControl(base, { framesReceived: 1 } as ConsumerReport);
    expect(r.status).toBe('FB_ERR_PROTOCOL');
    expect(r.error).toMatch(/no-send control delivered 1 frame/);
  });

  it("folds each window's page counts into rounds, and flags a wire that is not 131,000-B chunks", () => {
    const win = (cpu: number, frames: number, late: number, fpm: number): CaseResult => ({
      status: 'ok', frameBytes: 3_110_400, window: { seconds: 2, producerFrames: frames, consumerFrames: frames }, cpuUsPerFrame: { producer: cpu, consumer: 1, total: cpu + 1 },
      transportStats: {
        producer: { producer: 'chromium-bot', chromiumVersion: 'Chrome/156', codec: 'vp8', clipFrames: 60, keyEvery: 60, bitrateKbps: 2900, encodeMs: 9000, windowFrames: frames, windowSlots: 60, windowLate: late, workMs: 9, sendMs: 2, stampErrors: 0 },
        consumer: { fragmentsPerMessage: fpm, maxFragmentsPerMessage: 40, maskedBytes: 3_110_464 * 10, messages: 10 },
      },
    }) as unknown as CaseResult;
    const b = botFigures([win(50_000, 57, 3, 29), win(52_000, 60, 0, 30), win(49_000, 54, 6, 28)])!;
    expect(b.role).toBe('send');
    expect(b.rounds.map((r) => r.cpuUsPerFrame)).toEqual([50_000, 52_000, 49_000]);
    expect(b.rounds.map((r) => r.latePct)).toEqual([5, 0, 10]);
    expect(b.pageFps.median).toBe(28.5);
    expect(b.wire!.fragmentsPerMessage).toBe(29);
    expect(b.wire!.expectedAt131000).toBe(24);
    expect(b.wire!.maskedShare).toBe(1);
    expect(b.wire!.flag).toMatch(/not 24 chunks/);
  });

  it('a bot case whose every round failed still folds into finite numbers (the result file has no NaN)', () => {
    const failed = {
      status: 'FB_ERR_CORRUPT_FRAME', frameBytes: 115_200, window: { seconds: 0, producerFrames: 0, consumerFrames: 0 }, cpuUsPerFrame: { producer: NaN, consumer: 0, total: 0 },
      transportStats: { producer: { producer: 'chromium-bot', windowSlots: 0 }, consumer: {} },
    } as unknown as CaseResult;
    const b = botFigures([failed])!;
    expect(b.pageFps).toEqual({ n: 0, median: 0, lo: 0, hi: 0, level: 0 });
    expect(JSON.parse(JSON.stringify(b))).toEqual(b);
  });
});
