import { describe, expect, it } from 'vitest';
import type { CaseSpec, ConsumerReport, HostCpuTicks, ProducerReport, WindowFigures } from '../core/case';
import type { CaseResult } from '../core/result';
import { busyTicks, diffTicks, hostNoise, NOISE_BOUNDS, parseProcStat, totalTicks, USER_HZ } from '../measure/host-noise';
import { caseFigures, caseNoise } from '../measure/figures';
import { aggregateRounds } from '../measure/aggregate';

/**
 * Host noise (measure/host-noise.ts) from canned /proc/stat text: parsing, deltas, the bounds,
 * and the way a case's own CPU is taken out (measure/figures.ts) and rounds keep their noise
 * (measure/aggregate.ts). Every expected number is worked out from the inputs in the comments.
 */

// A real 2-CPU /proc/stat, trimmed (fields: user nice system idle iowait irq softirq steal guest guest_nice)
const STAT_A = `cpu  343715 3650 140457 204276 831 0 3131 0 0 0
cpu0 171000 1800 70000 102000 400 0 1600 0 0 0
cpu1 172715 1850 70457 102276 431 0 1531 0 0 0
intr 123456 0 0
ctxt 987654
btime 1700000000
processes 4242
procs_running 3
`;
// 1.5 s later on 2 CPUs = 300 ticks in all: user +150, nice +0, system +40, idle +90, iowait +2, irq +0, softirq +3, steal +15
const STAT_B = `cpu  343865 3650 140497 204366 833 0 3134 15 7 0
cpu0 171075 1800 70020 102045 401 0 1601 8 4 0
cpu1 172790 1850 70477 102321 432 0 1533 7 3 0
intr 123999 0 0
`;

describe('parseProcStat', () => {
  it("reads the aggregate 'cpu' line, not cpu0/cpu1", () => {
    expect(parseProcStat(STAT_A)).toEqual({ user: 343715, nice: 3650, system: 140457, idle: 204276, iowait: 831, irq: 0, softirq: 3131, steal: 0 });
  });

  it('takes missing trailing fields as 0 (old kernels have no steal column)', () => {
    expect(parseProcStat('cpu  10 1 5 100 2\n')).toEqual({ user: 10, nice: 1, system: 5, idle: 100, iowait: 2, irq: 0, softirq: 0, steal: 0 });
  });

  it('returns null without an aggregate line or with garbage in it', () => {
    expect(parseProcStat('cpu0 1 2 3 4\nintr 5\n')).toBeNull();
    expect(parseProcStat('cpu  a b c d\n')).toBeNull();
    expect(parseProcStat('')).toBeNull();
  });
});

describe('hostNoise', () => {
  const d = diffTicks(parseProcStat(STAT_B)!, parseProcStat(STAT_A)!);

  it('deltas of every field; busy = user + nice + system + irq + softirq', () => {
    expect(d).toEqual({ user: 150, nice: 0, system: 40, idle: 90, iowait: 2, irq: 0, softirq: 3, steal: 15 });
    expect(totalTicks(d)).toBe(300);
    expect(busyTicks(d)).toBe(193);
  });

  it('steal as % of the host, other CPU as % of one core after the case’s own', () => {
    // busy 193 ticks = 1.93 s of CPU; the case used 1.2 s; other = 0.73 s over 1.5 s = 48.7% of a core
    // steal 15 of 300 ticks = 5% (not above the 5% bound)
    const n = hostNoise(d, 1.5, 1.2e6);
    expect(USER_HZ).toBe(100);
    expect(n.stealPct).toBe(5);
    expect(n.otherCpuPct).toBe(48.7);
    expect(n.noisy).toBe(true);
    expect(n.reason).toBe(`other processes used 48.7% of a core (bound ${NOISE_BOUNDS.otherCpuPct}%)`);
  });

  it('quiet: the case used (nearly) all the busy time; a small negative "other" is 0', () => {
    const n = hostNoise(d, 1.5, 1.95e6); // 20 ms more than the ticks say: tick sampling
    expect(n).toEqual({ stealPct: 5, otherCpuPct: 0, noisy: false });
  });

  it('steal above its bound is noisy with its own reason; both reasons are joined', () => {
    const stolen: HostCpuTicks = { ...d, steal: 30, idle: 75 }; // 30 of 300
    expect(hostNoise(stolen, 1.5, 1.93e6)).toEqual({ stealPct: 10, otherCpuPct: 0, noisy: true, reason: `steal 10% of the host's CPU (bound ${NOISE_BOUNDS.stealPct}%)` });
    const both = hostNoise(stolen, 1.5, 0);
    expect(both.reason).toMatch(/^steal 10% .*; other processes used 128.7% of a core/); // 1.93 s / 1.5 s
  });

  it('an empty window reads 0, not NaN', () => {
    const zero: HostCpuTicks = { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 };
    expect(hostNoise(zero, 0, 0)).toEqual({ stealPct: 0, otherCpuPct: 0, noisy: false });
  });
});

const SPEC: CaseSpec = {
  caseId: '1', transport: 'redis', scenario: 'realtime', pacing: 'fps', format: 'i420', sizes: [[640, 360]],
  fps: 30, warmupMs: 200, durationMs: 1500, producers: 1, verify: 'sample', source: 'synthetic', runDir: '/nonexistent',
  maxFrameBytes: 345_664, policy: 'block', transportOptions: {},
};

function win(cpuUs: number, extra: Partial<WindowFigures> = {}): WindowFigures {
  return { seconds: 1.5, frames: 45, copies: null, proc: { userUs: cpuUs * 0.75, systemUs: cpuUs * 0.25, rchar: 0, wchar: 0, maxRssBytes: 0 }, ...extra };
}

function reports(hostCpuTicks?: HostCpuTicks): { producers: ProducerReport[]; consumer: ConsumerReport } {
  return {
    producers: [{ producerId: 0, framesGenerated: 51, framesAccepted: 51, framesDroppedByPolicy: 0, window: win(300_000), transportStats: {} }],
    consumer: {
      framesReceived: 51, framesCorrupt: 0, outOfOrder: 0, gaps: 0, receivedPerProducer: [51], firstProblem: null, histogram: '',
      window: win(200_000, { serverCpuUs: 100_000, ...(hostCpuTicks ? { hostCpuTicks } : {}) }), transportStats: {}, drained: true,
    },
  };
}

describe('caseNoise / caseFigures', () => {
  // 300 ticks on 2 CPUs over 1.5 s; busy 100 ticks = 1 s; the case used 0.3 + 0.2 + 0.1 (server) = 0.6 s
  // other = 0.4 s over 1.5 s = 26.7% of a core: noisy; steal 3/300 = 1%
  const ticks: HostCpuTicks = { user: 70, nice: 0, system: 25, idle: 197, iowait: 0, irq: 1, softirq: 4, steal: 3 };

  it('subtracts producers, consumer and server CPU from the host’s busy time', () => {
    const { producers, consumer } = reports(ticks);
    expect(caseNoise(producers, consumer)).toEqual({
      stealPct: 1, otherCpuPct: 26.7, noisy: true, reason: 'other processes used 26.7% of a core (bound 25%)',
    });
    expect(caseFigures(SPEC, producers, consumer, 50).noise).toEqual(caseNoise(producers, consumer));
  });

  it('no /proc/stat reading: no noise field', () => {
    const { producers, consumer } = reports();
    expect(caseNoise(producers, consumer)).toBeUndefined();
    expect('noise' in caseFigures(SPEC, producers, consumer, 50)).toBe(false);
  });
});

describe('aggregateRounds and noise', () => {
  it("keeps each round's own noise, counts the noisy ones, drops none, and leaves no case-level noise", () => {
    const { producers, consumer } = reports();
    const base = caseFigures(SPEC, producers, consumer, 50);
    const quiet = { stealPct: 0, otherCpuPct: 3, noisy: false };
    const loud = { stealPct: 0, otherCpuPct: 80, noisy: true, reason: 'other processes used 80% of a core (bound 25%)' };
    const rounds: CaseResult[] = [
      { ...base, noise: quiet },
      { ...base, noise: loud, cpuUsPerFrame: { ...base.cpuUsPerFrame, total: base.cpuUsPerFrame.total * 2 } },
      { ...base }, // no reading
    ];
    const agg = aggregateRounds(rounds);
    expect(agg.rounds?.map((r) => r.noise)).toEqual([quiet, loud, undefined]);
    expect(agg.noisyRounds).toBe(1);
    expect(agg.intervals?.['cpuUsPerFrame.total'].n).toBe(3); // flagged, never dropped
    expect(agg.noise).toBeUndefined();
  });
});
