import { describe, expect, it } from 'vitest';
import { computeCost, DEFAULT_COST_MODEL } from '../core/cost';
import { run2Problems } from '../core/result-schema';
import { analyzeSweep, MIB } from '../core/sweep';
import { renderMarkdown } from '../reporters/markdown';
import { renderTerminal } from '../reporters/terminal';
import { FPS_LAW, LAWS, ROUNDS, sweepRun, WS_SHM_CROSSING } from './support/sweep-run';

/**
 * What a sweep result says (core/sweep.ts) on a synthetic run with known laws: the fitted terms per transport
 * and side, the crossing points, the fps law, the producer curves; the cost model at an unmeasured size; the
 * Markdown and terminal tables; the schema.
 */

const run = sweepRun();
const s = run.sweep!;

describe('size laws', () => {
  it('one law per transport and side, recovering the known terms within their intervals', () => {
    const totals = s.sizeLaws.filter((l) => l.side === 'total' && l.scenario === 'realtime');
    expect(totals.map((l) => l.transport).sort()).toEqual(Object.keys(LAWS).sort());
    for (const l of totals) {
      const truth = LAWS[l.transport];
      expect(l.fit.points).toBe(4);
      expect(l.fit.rounds).toBe(ROUNDS);
      expect(l.fit.slopeIv[0]).toBeLessThanOrEqual(truth.perByte * 1.02); // the shared drift moves every point of a round alike
      expect(l.fit.slopeIv[1]).toBeGreaterThanOrEqual(truth.perByte * 0.98);
      expect(Math.abs(l.fit.slope / truth.perByte - 1)).toBeLessThan(0.15);
      expect(l.perByteSpread).toBeLessThan(0.15);
      expect(l.perMiBUs).toBeCloseTo(l.fit.slope * MIB, 6);
      expect(l.fit.linear).toBe(true);
    }
    // the sides add up to the total (40% + 60% of every round's figure)
    const ws = (side: string) => s.sizeLaws.find((l) => l.transport === 'ws' && l.side === side)!.fit.slope;
    expect(ws('producer') + ws('consumer')).toBeCloseTo(ws('total'), 9);
  });

  it('states the per-byte term in copy-equivalents of the calibrated memcpy', () => {
    // memcpy: 900 µs per 12,441,600 B = 75.85 µs per MiB
    expect(s.memcpyUsPerMiB).toBeCloseTo((900 / 12_441_600) * MIB, 3);
    const shm = s.sizeLaws.find((l) => l.transport === 'shm' && l.side === 'total')!;
    expect(shm.perByteCopyEq).toBeCloseTo(shm.perMiBUs / s.memcpyUsPerMiB, 9);
    expect(shm.perByteCopyEq).toBeGreaterThan(1.1); // 0.0001 µs/B = 105 µs/MiB: ~1.4 memcpys of the bytes
    expect(shm.perByteCopyEq).toBeLessThan(1.7);
  });
});

describe('crossings', () => {
  it('says where ws stops being cheaper than shm, with an interval around the true size', () => {
    const c = s.crossings.find((x) => [x.a, x.b].sort().join() === 'shm,ws')!;
    expect(c.cheaperBelow).toBe('ws');
    expect(c.crossShare).toBeGreaterThan(0.95);
    expect(c.bytesIv[0]).toBeLessThan(WS_SHM_CROSSING);
    expect(c.bytesIv[1]).toBeGreaterThan(WS_SHM_CROSSING);
    expect(c.inRange).toBe(true);
    expect(c.sentence).toMatch(/^below ~\d[\d,.]* (KiB|MiB) per frame \(95%: .+\) ws is cheaper than shm; above it shm$/);
  });

  it('a pair of lines that never cross at a positive size is said to be so', () => {
    // unix 300 + 0.0004x against tcp 350 + 0.00045x: unix is cheaper everywhere
    const c = s.crossings.find((x) => [x.a, x.b].sort().join() === 'tcp,unix')!;
    expect(c.cheaperBelow).toBe('unix');
    expect(c.sentence).toMatch(/^unix is cheaper than tcp at every frame size/);
  });
});

describe('fps law and producer curves', () => {
  it('separates the idle cost per second from the cost per frame', () => {
    const unix = s.fpsLaws.find((l) => l.transport === 'unix')!;
    expect(unix.fit.points).toBe(3);
    expect(unix.idleUsPerSecond / FPS_LAW.idle).toBeGreaterThan(0.7);
    expect(unix.idleUsPerSecond / FPS_LAW.idle).toBeLessThan(1.3);
    expect(unix.perFrameUs / FPS_LAW.perFrame).toBeGreaterThan(0.9);
    expect(unix.perFrameUs / FPS_LAW.perFrame).toBeLessThan(1.1);
  });

  it('keeps every case as a point, producers included', () => {
    expect(s.points).toHaveLength(run.results.length);
    const ws = s.points.filter((p) => p.scenario === 'multi-producer' && p.transport === 'ws').map((p) => p.producers);
    expect(ws).toEqual([1, 2, 4]);
  });
});

describe('results and reports', () => {
  it('the result with its sweep is valid run@2 after a JSON round trip, and re-analysing gives the same', () => {
    const back = JSON.parse(JSON.stringify(run));
    expect(run2Problems(back)).toEqual([]);
    const again = analyzeSweep(back);
    expect(again.sizeLaws.map((l) => l.fit.slope)).toEqual(s.sizeLaws.map((l) => l.fit.slope));
    expect(again.sizeLaws.map((l) => l.fit.slopeIv)).toEqual(s.sizeLaws.map((l) => l.fit.slopeIv));
  });

  it('the cost model prices an unmeasured size from the law, and says so', () => {
    const cost = computeCost(run, { ...DEFAULT_COST_MODEL, width: 2560, height: 1440, baseline: 'ws' });
    const bytes = 2560 * 1440 * 1.5;
    for (const t of cost.transports) {
      const law = s.sizeLaws.find((l) => l.transport === t.transport && l.side === 'total' && l.scenario === 'realtime')!;
      expect(t.source.note).toMatch(/^from the fitted cost law of .* not measured at this size \(between measured sizes\)$/);
      expect(t.cpuUsPerFrame).toBeCloseTo(law.fit.fixed + law.fit.slope * bytes, 6);
    }
    // a measured size is still priced from its own case
    const measured = computeCost(run, { ...DEFAULT_COST_MODEL, width: 1920, height: 1080 });
    expect(measured.transports.every((t) => !t.source.note.includes('cost law'))).toBe(true);
  });

  it('Markdown has the fitted terms as a table and the crossings as a list; the terminal the total laws', () => {
    const md = renderMarkdown(run);
    expect(md).toContain('### Sweep');
    expect(md).toMatch(/\| Transport \| Series \| Side \| Fixed µs \(95%\) \| Per MiB µs \(95%\) \|/);
    expect(md.match(/^\| (ws|unix|tcp|shm) \| realtime\/i420 \| (total|producer|consumer) \|/gm)).toHaveLength(12);
    expect(md).toMatch(/^- realtime\/i420: below ~.* ws is cheaper than shm/m);
    expect(md).toContain('Idle cost apart from cost per frame');
    expect(md).toContain('Throughput and consumer CPU per frame against producers');
    const term = renderTerminal(run);
    expect(term).toContain('Cost law per transport');
    expect(term.match(/^(ws|unix|tcp|shm) +realtime\/i420 +total /gm)).toHaveLength(4);
    expect(term).toContain('Where the lines cross');
  });

  it('a run without a sweep renders no sweep section', () => {
    const plain = { ...run, sweep: undefined };
    expect(renderMarkdown(plain)).not.toContain('### Sweep');
    expect(renderTerminal(plain)).not.toContain('Cost law');
  });
});
