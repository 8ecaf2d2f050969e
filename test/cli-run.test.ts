import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resultProblems } from '../core/validate';
import { checkInvariants, readResult } from './support/invariants';
import { runCli } from './support/cli';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-cli-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A private TMPDIR per CLI run: whatever is left in it afterwards was left by that run. */
function privateTmp(name: string): string {
  const d = path.join(tmp, `tmpdir-${name}`);
  mkdirSync(d);
  return d;
}


describe('bench run (real processes)', () => {
  it('writes a valid results.json whose cases hold the invariants', async () => {
    const out = path.join(tmp, 'basic');
    const tmpdir = privateTmp('basic');
    const r = await runCli([
      'run', '--rounds', '2', '--transport', 'ws,ws-nomask,unix,tcp', '--scenario', 'realtime,saturate', '--format', 'i420',
      // the steady warm-up (the default) is exercised here, capped at 1 s per case
      '--resolution', '720p', '--duration', '0.6', '--warmup', '0.2', '--warmup-max', '1', '--out', out, '--json',
    ], { env: { TMPDIR: tmpdir }, timeoutMs: 140_000 });
    expect(r.code, r.stderr).toBe(0);
    const file = readResult(out);
    expect(resultProblems(file)).toEqual([]);
    expect(JSON.parse(r.stdout)).toEqual(file); // --json prints the same result
    expect(file.results).toHaveLength(8);
    expect(file.calibration.memcpyUsPerFrame).toBeGreaterThan(0);
    for (const c of file.results) {
      checkInvariants(c);
      expect(c.frameBytes).toBe(1280 * 720 * 1.5);
    }
    const ws = file.results.find((c) => c.transport === 'ws');
    expect(ws?.masking).toMatch(/^(bufferutil|js)$/);
    expect(file.results.find((c) => c.transport === 'ws-nomask')?.masking).toBe('none');
    // the human table is on stderr, one row per transport
    for (const t of ['ws', 'ws-nomask', 'unix', 'tcp']) expect(r.stderr).toMatch(new RegExp(`^${t}\\b`, 'm'));
    expect(readdirSync(tmpdir)).toEqual([]); // no run dir, socket or perf file left
    for (const c of file.results) for (const k of c.rounds ?? []) expect(k.warmup?.ended).toMatch(/^(steady|plateau|cap)$/);
  }, 150_000);

  it("shm: a pad costs no wake-up of its own; the wake-to-handler samples are the measured windows' own, merged over the rounds", async () => {
    const out = path.join(tmp, 'shm-wake');
    const r = await runCli([
      // the steady warm-up (the default): each window is announced once the warm-up ends, while frames flow
      'run', '--rounds', '2', '--warmup-max', '1.5', '--transport', 'shm,shm-c', '--scenario', 'realtime', '--format', 'i420',
      '--resolution', '640x360', '--duration', '1', '--warmup', '0.5', '--out', out,
    ], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const results = readResult(out).results;
    for (const c of results) {
      checkInvariants(c);
      // the default ring (six frames, rounded up to 4 KiB) ends each lap with a pad; the record after it
      // wakes the consumer, the pad does not (Node and C producers alike): one wake per record
      const p = c.transportStats.producer;
      expect(p.pads as number, c.transport).toBeGreaterThan(0);
      expect(p.futexWakes as number, c.transport).toBeLessThanOrEqual(p.records as number);
    }
    const c = results.find((x) => x.transport === 'shm')!;
    const st = c.transportStats.consumer;
    expect(st.wakeups as number).toBeLessThanOrEqual((st.records as number) + 2); // + its producer's arrival (and departure)
    const windowFrames = c.window.consumerFrames; // both rounds' windows (about 2 x 30 frames)
    const samples = st.wakeSamples as number;
    // one sample per wake-up inside a window (a paced frame is one wake-up), none from the warm-ups
    // (0.5-1.5 s each, 15-45 wake-ups) or teardown; a wake-up on a window's edge may fall either side
    expect(samples).toBeLessThanOrEqual(windowFrames + 4);
    expect(samples).toBeGreaterThan(windowFrames / 2);
    expect(samples).toBeGreaterThan((c.rounds?.[0].frames ?? 0) + 4); // both rounds, not the first one's
    expect(st.wakeP50Us as number).toBeLessThanOrEqual(st.wakeP99Us as number);
    expect(st.wakeP99Us as number).toBeLessThanOrEqual(st.wakeMaxUs as number);
  }, 130_000);

  it('runs multi-producer: every producer delivers, in order', async () => {
    const out = path.join(tmp, 'multi');
    const r = await runCli([
      'run', '--rounds', '1', '--warmup-max', '0', '--transport', 'unix,ws', '--scenario', 'multi-producer', '--producers', '3', '--format', 'rgba',
      '--resolution', '640x360', '--duration', '0.6', '--warmup', '0.2', '--out', out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const file = readResult(out);
    for (const c of file.results) {
      checkInvariants(c);
      expect(c.producers).toBe(3);
    }
  });

  it('a producer killed mid-run ends that case with FB_ERR_PEER_GONE; the run goes on and exits 1', async () => {
    const out = path.join(tmp, 'crash');
    const tmpdir = privateTmp('crash');
    const r = await runCli(
      ['run', '--rounds', '1', '--warmup-max', '0', '--transport', 'tcp,unix', '--scenario', 'realtime', '--format', 'i420', '--resolution', '720p', '--duration', '1.5', '--warmup', '0.2', '--out', out],
      { env: { FRAMEBENCH_TEST_CRASH: 'tcp:producer:500', TMPDIR: tmpdir }, timeoutMs: 150_000 },
    );
    // the run ends by itself (null: killed as hung) and goes on to the next case
    expect(r.code, r.stderr).toBe(1);
    const file = readResult(out);
    const tcp = file.results.find((c) => c.transport === 'tcp');
    const unix = file.results.find((c) => c.transport === 'unix');
    expect(tcp?.status).toBe('FB_ERR_PEER_GONE');
    expect(unix?.status).toBe('ok');
    expect(readdirSync(tmpdir)).toEqual([]);
  }, 180_000);

  it('a consumer killed mid-run is reported too', async () => {
    const out = path.join(tmp, 'crash-consumer');
    const r = await runCli(
      ['run', '--rounds', '1', '--warmup-max', '0', '--transport', 'ws', '--scenario', 'saturate', '--format', 'i420', '--resolution', '720p', '--duration', '1.5', '--warmup', '0.2', '--out', out],
      { env: { FRAMEBENCH_TEST_CRASH: 'ws:consumer:400' } },
    );
    expect(r.code).toBe(1);
    const file = readResult(out);
    expect(file.results[0].status).toBe('FB_ERR_PEER_GONE');
  });

  it('bench list shows every transport and scenario', async () => {
    const r = await runCli(['list']);
    expect(r.code).toBe(0);
    for (const t of ['ws', 'ws-nomask', 'unix', 'tcp', 'shm', 'shm-copy']) expect(r.stdout).toMatch(new RegExp(`^${t}\\s`, 'm'));
    for (const s of ['realtime', 'saturate', 'multi-producer', 'variable-size']) expect(r.stdout).toContain(s);
    expect(existsSync(path.join(tmp))).toBe(true);
  });

  it('bench with no command prints help and a hint, exit 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('bench run');
  });
});
