import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { nowNs } from '../core/clock';
import { FLOOR_FAULTS_PER_S, PLATEAU_AFTER_MS, isSteady, parseMinflt, readCounters, waitSteady } from '../measure/steady';

/**
 * The steady warm-up (measure/steady.ts): the window opens when the case's processes stop
 * faulting in fresh memory, or when their faults stop falling (a plateau), or at the cap. Real
 * processes that fault on purpose (they touch fresh pages they never reuse) for a set time.
 */
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A node process that touches `mbPerTick` MiB of fresh memory every 20 ms for `ms` ms (Infinity: until killed), then idles. */
async function faulter(ms: number, mbPerTick = 2): Promise<ChildProcess> {
  const code = `
    process.stdout.write('go\\n');
    const end = Date.now() + ${Number.isFinite(ms) ? ms : 1e9};
    const keep = [];
    const t = setInterval(() => {
      if (Date.now() >= end) { clearInterval(t); keep.length = 0; setInterval(() => {}, 1000); return; }
      const b = Buffer.alloc(${mbPerTick} * 1048576, 1); keep.push(b); if (keep.length > 50) keep.shift();
    }, 20);`;
  const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  await new Promise((resolve) => c.stdout?.once('data', resolve)); // started: t0 is now
  return c;
}

describe('steady warm-up', () => {
  it('parses minflt from /proc/<pid>/stat, even with spaces and parentheses in the name', () => {
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 12345 0 7 0 100 20 0 0 20 0 11 0 999 1000 100';
    expect(parseMinflt(stat)).toBe(12345);
    expect(readCounters([process.pid]).minflt).toBeGreaterThan(0);
    expect(readCounters([2 ** 22 + 12345]).minflt).toBe(0); // gone: counts nothing
  });

  it('steady: faulted bytes within 1% of the bytes moved plus a floor', () => {
    const a = { minflt: 0, ioBytes: 0 };
    const floorPages = (FLOOR_FAULTS_PER_S * 500) / 1000;
    expect(isSteady(a, { minflt: floorPages, ioBytes: 0 }, 500).steady).toBe(true);
    expect(isSteady(a, { minflt: floorPages + 1, ioBytes: 0 }, 500).steady).toBe(false);
    const moved = 100 * 1048576;
    expect(isSteady(a, { minflt: floorPages + (0.01 * moved) / 4096, ioBytes: moved }, 500).steady).toBe(true);
    expect(isSteady(a, { minflt: floorPages + (0.02 * moved) / 4096, ioBytes: moved }, 500)).toMatchObject({ steady: false, faultPct: expect.closeTo(2 + (100 * floorPages * 4096) / moved, 3) });
  });

  it('a process that stops faulting after 1 s opens the window after that, as steady', async () => {
    const c = await faulter(1000);
    const t0 = nowNs();
    const o = await waitSteady(() => [c.pid ?? -1], t0, 200, 8000);
    expect(o.ended).toBe('steady');
    expect(o.warmupMs).toBeGreaterThanOrEqual(1000);
  }, 20_000);

  it('a process that faults at a constant rate ends on a plateau, not at the cap', async () => {
    const c = await faulter(Infinity);
    const o = await waitSteady(() => [c.pid ?? -1], nowNs(), 200, 8000);
    expect(o.ended).toBe('plateau');
    expect(o.warmupMs).toBeGreaterThanOrEqual(PLATEAU_AFTER_MS);
    expect(o.warmupMs).toBeLessThan(8000);
  }, 20_000);

  it('before a plateau can be called, the cap ends it and says so', async () => {
    const c = await faulter(Infinity);
    const o = await waitSteady(() => [c.pid ?? -1], nowNs(), 200, 1200);
    expect(o.ended).toBe('cap');
    expect(o.warmupMs).toBeGreaterThanOrEqual(1200);
  }, 20_000);
});
