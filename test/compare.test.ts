import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareCommand, deltaText, stat } from '../cli/compare';
import type { CliIo } from '../cli/report';
import { changeOf, changeText, COMPARE_SCHEMA } from '../core/compare';
import type { CaseResult, RunResult } from '../core/result';

const F = (f: string) => join(__dirname, 'fixtures-results', f);
const tmp = mkdtempSync(join(tmpdir(), 'fb-compare-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function compare(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (s) => (out += s), err: (s) => (err += s) };
  const code = await compareCommand(argv, io);
  return { code, out, err };
}

function mdRow(out: string, key: string): string[] {
  const line = out.split('\n').find((l) => l.startsWith(`| ${key} |`) || l.startsWith(`| ${key} (`))!;
  return line.slice(2, -2).split(' | ');
}

describe('noise arithmetic', () => {
  it('median and spread of repeats', () => {
    expect(stat([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(stat([4, 1, 2, 3]).median).toBe(2.5);
  });
  it('a change inside the combined spread is marked ≈', () => {
    // 105 -> 113 = +7.6%; half-spreads 5 + 1 = 6 < 8: a real change
    expect(deltaText(stat([100, 110]), stat([112, 114]))).toBe('+7.6%');
    // 105 -> 109 = +3.8%; 6 >= 4: inside the noise
    expect(deltaText(stat([100, 110]), stat([108, 110]))).toBe('+3.8% ≈');
    // single runs have no noise estimate; passes are absolute
    expect(deltaText(stat([2]), stat([1]), true)).toBe('-1');
    expect(deltaText(null, stat([1]))).toBe('new');
  });
});

describe('bench compare', () => {
  it('two files of one host: A vs B with deltas in CPU, copy-eq, passes, p99 and GB/s', async () => {
    const r = await compare([F('sample-run.json'), F('repeat-a1.json'), '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Single run per side: no noise estimate');
    expect(r.out).toContain('| case | CPU µs/frame A | B | Δ | copy-eq A | B | Δ | passes A | B | Δ | p99 µs A | B | Δ | GB/s A | B | Δ |');
    const ws = mdRow(r.out, 'ws/realtime/i420/1920x1080');
    // 3,313.4 -> 3,490.6 µs is +5.3%; passes 5 -> 5
    expect(ws.slice(1, 4)).toEqual(['3,313', '3,491', '+5.3%']);
    expect(ws.slice(7, 10)).toEqual(['5', '5', '+0']);
    expect(mdRow(r.out, 'tcp/saturate/i420/1920x1080')[3]).toBe('A failed');
  });

  it('repeats on each side of --vs: medians with spread, changes inside the noise marked ≈', async () => {
    const r = await compare([F('repeat-a1.json'), F('repeat-a2.json'), '--vs', F('repeat-a3.json'), F('sample-run.json'), '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 runs (repeats: median, ± = half the min–max spread)');
    const ws = mdRow(r.out, 'ws/realtime/i420/1920x1080');
    expect(ws[1]).toMatch(/^[\d,]+ ±\d+(\.\d)?%$/);
    expect(ws[3]).toMatch(/≈$/);
    expect(ws[7]).toBe('5 ±0');
  });

  it('different hosts: compared in copy-equivalents and passes only, and says so', async () => {
    const r = await compare([F('sample-run.json'), F('other-host.json'), '--format', 'md']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Different hosts: compared in copy-equivalents and passes only');
    expect(r.out).toContain('| case | copy-eq A | B | Δ | passes A | B | Δ |');
    expect(r.out).not.toContain('CPU µs/frame A');
  });

  it('three repeats of one host without --vs: a repeatability table and a hint', async () => {
    const r = await compare([F('repeat-a1.json'), F('repeat-a2.json'), F('repeat-a3.json')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('3 runs (repeats');
    expect(r.out).toContain('--vs');
    expect(r.out).toMatch(/shm\/realtime\/i420\/1920x1080\s+[\d.]+ ±/);
  });

  it('terminal format renders an aligned table', async () => {
    const r = await compare([F('sample-run.json'), F('repeat-a1.json')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^case\s+CPU µs\/frame A\s+B\s+Δ/m);
    expect(r.out).toContain('─');
  });

  it('bad input: stable codes, exit 2', async () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{ not json');
    for (const [argv, code] of [
      [[F('not-a-result.json'), F('sample-run.json')], 'FB_ERR_BAD_RESULT_FILE'],
      [[bad, F('sample-run.json')], 'FB_ERR_BAD_RESULT_FILE'],
      [[join(tmp, 'missing.json'), F('sample-run.json')], 'FB_ERR_BAD_RESULT_FILE'],
      [[F('sample-run.json')], 'FB_ERR_USAGE'],
      [[F('sample-run.json'), '--vs'], 'FB_ERR_USAGE'],
      [[F('sample-run.json'), F('repeat-a1.json'), '--format', 'html'], 'FB_ERR_USAGE'],
    ] as const) {
      const r = await compare([...argv]);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(new RegExp(`^${code}: `));
      expect(r.out).toBe('');
    }
  });
});

describe('methodology versions', () => {
  it('comparing an @1 run with an @2 run warns on stderr that the measurement differs', async () => {
    const F2 = (n: string) => join(__dirname, 'fixtures-results', n);
    const r = await compare([F2('sample-run.json'), '--vs', F2('run2-sample.json')]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/different methodology versions/);
    expect(r.out).toMatch(/different methodology versions/);
    const same = await compare([F2('repeat-a1.json'), F2('repeat-a2.json')]);
    expect(same.err).not.toMatch(/methodology/);
  });
});

describe('changes with intervals, --json and --fail-above', () => {
  /** run2-sample.json with every round's CPU of one transport scaled (same rounds: paired). */
  function scaled(transport: string, k: number): string {
    const run = JSON.parse(readFileSync(F('run2-sample.json'), 'utf8')) as RunResult;
    for (const c of run.results.filter((x) => x.transport === transport)) {
      c.cpuUsPerFrame.total *= k;
      for (const r of c.rounds ?? []) r.cpuUsPerFrame.total *= k;
    }
    const file = join(tmp, `scaled-${transport}-${k}.json`);
    writeFileSync(file, JSON.stringify(run));
    return file;
  }
  it('two runs with the same rounds are paired round by round: the change of a scaled transport is exact', async () => {
    const r = await compare([F('run2-sample.json'), scaled('ws', 1.3), '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { schema: string; comparisons: Array<{ changes: Array<{ key: string; metric: string; change: { median: number; lo: number; hi: number; paired: boolean } }> }> };
    expect(j.schema).toBe(COMPARE_SCHEMA);
    const ws = j.comparisons[0].changes.find((c) => c.key.startsWith('ws/realtime') && c.metric === 'cpuUsPerFrame.total')!;
    expect(ws.change.paired).toBe(true);
    expect(ws.change.median).toBeCloseTo(0.3, 6);
    expect(ws.change.lo).toBeCloseTo(0.3, 6);
    const shm = j.comparisons[0].changes.find((c) => c.key.startsWith('shm/realtime') && c.metric === 'cpuUsPerFrame.total')!;
    expect(shm.change.median).toBe(0);
  });
  it('--fail-above PCT: exit 1 naming the case when a CPU change lies wholly above 0 with its median past PCT', async () => {
    const r = await compare([F('run2-sample.json'), scaled('shm', 1.25), '--fail-above', '10']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/REGRESSION: shm\/realtime\/i420\/1280x720 cpuUsPerFrame\.total \+25% \[\+25%, \+25%\]/);
    expect(r.err).not.toMatch(/REGRESSION: ws/);
    expect(r.out).toMatch(/Changes A → B, median \[interval\]: paired/);
    expect((await compare([F('run2-sample.json'), scaled('shm', 1.05), '--fail-above', '10'])).code).toBe(0);
  });
  it('unpaired sides (repeats) get a conservative interval, marked ~', () => {
    const mk = (xs: number[]) => xs.map((x) => ({ status: 'ok', cpuUsPerFrame: { total: x }, copyEquivalents: x, latencyUs: { p99: x }, fps: x }) as unknown as CaseResult);
    const c = changeOf(mk([10, 11, 12]), mk([12, 13, 14]), 'cpuUsPerFrame.total')!;
    expect(c.paired).toBe(false);
    expect(c.median).toBeCloseTo(13 / 11 - 1, 6);
    expect(c.lo).toBeCloseTo(12 / 12 - 1, 6);
    expect(c.hi).toBeCloseTo(14 / 10 - 1, 6);
    expect(changeText(c)).toMatch(/ ~$/);
  });
});
