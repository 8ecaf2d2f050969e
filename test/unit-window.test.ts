import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync, openSync, closeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nowNs } from '../core/clock';
import { COPYCOUNT_LAYOUT, CopyCountPage } from '../measure/copycount';
import { MeasureWindow } from '../measure/window';
import './support/require-ts'; // window.ts requires ./copycount lazily

/**
 * MeasureWindow (measure/window.ts): one reading of CPU, kernel bytes and copy counters at
 * each edge, deltas in between, frames counted only while open. Invariants, never speed:
 * the timers' open and close are waited for, and a hang is caught by the test timeout.
 */
const HOUR_NS = 3600e9;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-window-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Windows whose timers are an hour away: the test opens and closes them by hand. */
const windows: MeasureWindow[] = [];
function manual(opts?: ConstructorParameters<typeof MeasureWindow>[2]): MeasureWindow {
  const w = new MeasureWindow(nowNs() + HOUR_NS, nowNs() + 2 * HOUR_NS, opts);
  windows.push(w);
  return w;
}

const savedCopyCount = process.env.FRAMEBENCH_COPYCOUNT;
beforeEach(() => {
  delete process.env.FRAMEBENCH_COPYCOUNT;
});
afterEach(() => {
  for (const w of windows.splice(0)) w.figures(); // clears its timers
  if (savedCopyCount === undefined) delete process.env.FRAMEBENCH_COPYCOUNT;
  else process.env.FRAMEBENCH_COPYCOUNT = savedCopyCount;
});

/** A CPU source that hands out the given readings in turn and counts the calls. */
function scripted(readings: Array<{ userUs: number; systemUs: number; rchar: number; wchar: number }>) {
  const src = { calls: 0, cpu: () => readings[Math.min(src.calls++, readings.length - 1)] };
  return src;
}

describe('MeasureWindow', () => {
  it('counts frames only while open: not in the warm-up, not after the close', () => {
    const w = manual();
    expect(w.isOpen).toBe(false);
    for (let i = 0; i < 5; i++) w.frame(); // warm-up
    w.open();
    expect(w.isOpen).toBe(true);
    for (let i = 0; i < 7; i++) w.frame();
    w.close();
    expect(w.isOpen).toBe(false);
    for (let i = 0; i < 3; i++) w.frame(); // drain
    expect(w.figures().frames).toBe(7);
  });

  it('reads the CPU once at each edge and reports the difference; opening or closing twice changes nothing', () => {
    const src = scripted([
      { userUs: 100, systemUs: 50, rchar: 1000, wchar: 10 },
      { userUs: 350, systemUs: 80, rchar: 5000, wchar: 10 },
      { userUs: 9e9, systemUs: 9e9, rchar: 9e9, wchar: 9e9 }, // a third reading would show
    ]);
    const w = manual(src.cpu);
    w.open();
    w.open();
    w.frame();
    w.close();
    w.close();
    w.open(); // a closed window stays closed
    w.frame();
    const f = w.figures();
    expect(src.calls).toBe(2);
    expect(f.frames).toBe(1);
    expect(f.proc).toMatchObject({ userUs: 250, systemUs: 30, rchar: 4000, wchar: 0 });
    expect(f.proc.maxRssBytes).toBeGreaterThan(0); // peak RSS is this process's
    expect(f.seconds).toBeGreaterThanOrEqual(0);
    expect(w.figures()).toEqual(f); // reading the figures again measures nothing new
    expect(src.calls).toBe(2);
  });

  it('figures() of a window never opened opens and closes it: no frames, no negative figure', () => {
    const w = manual();
    w.frame();
    const f = w.figures();
    expect(f.frames).toBe(0);
    expect(f.seconds).toBeGreaterThanOrEqual(0);
    for (const [k, v] of Object.entries(f.proc)) expect(v, k).toBeGreaterThanOrEqual(0);
    expect(f.copies).toBeNull(); // no copy-count page in this process
    expect(f).not.toHaveProperty('serverCpuUs');
  });

  it("this process's work inside the window shows up: CPU spent, bytes written and read through the kernel", () => {
    const file = path.join(tmp, 'io.bin');
    const w = manual();
    w.open();
    const data = Buffer.alloc(1 << 20, 7);
    let digest = data;
    for (let i = 0; i < 64; i++) digest = createHash('sha256').update(data).update(digest).digest();
    writeFileSync(file, data);
    expect(readFileSync(file).byteLength).toBe(1 << 20);
    w.close();
    const f = w.figures();
    expect(f.proc.userUs + f.proc.systemUs).toBeGreaterThan(0);
    expect(f.proc.userUs).toBeGreaterThanOrEqual(0);
    expect(f.proc.systemUs).toBeGreaterThanOrEqual(0);
    expect(f.proc.wchar).toBeGreaterThanOrEqual(1 << 20);
    expect(f.proc.rchar).toBeGreaterThanOrEqual(1 << 20);
    expect(f.seconds).toBeGreaterThan(0);
  });

  it('copy counters: the window reports the copies made between its edges only', () => {
    const page = CopyCountPage.create();
    try {
      const L = COPYCOUNT_LAYOUT;
      const fd = openSync(page.path, 'r+');
      /** Sets bucket i to (calls, bytes), as the interposer would after more copies. */
      const setBucket = (i: number, calls: number, bytes: number) => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(BigInt(calls), 0);
        b.writeBigUInt64LE(BigInt(bytes), 8);
        writeSync(fd, b, 0, 16, L.headerSize + i * L.bucketStride);
      };
      try {
        process.env.FRAMEBENCH_COPYCOUNT = page.path;
        const w = manual();
        const off = manual({ noCopies: true });
        setBucket(3, 5, 40); // warm-up copies
        w.open();
        off.open();
        setBucket(3, 7, 56);
        setBucket(10, 1, 600);
        w.close();
        off.close();
        setBucket(3, 100, 800); // after the window
        const f = w.figures();
        expect(f.copies).toMatchObject({ calls: 3, bytes: 616 });
        expect(f.copies!.bucketCalls[3]).toBe(2);
        expect(f.copies!.bucketBytes[10]).toBe(600);
        expect(f.copies!.bucketCalls.reduce((a, b) => a + b, 0)).toBe(3);
        expect(f.copies!.bucketCalls).toHaveLength(L.buckets);
        expect(off.figures().copies).toBeNull(); // per-thread windows read no per-process counters
      } finally {
        closeSync(fd);
      }
    } finally {
      page.unlink();
    }
  });

  it("a server process's CPU: its work inside the window shows up; a server that is gone counts 0", async () => {
    // the "server" does a fixed piece of work when asked, then says done
    const work = "process.stdin.once('data', () => { let h = Buffer.alloc(1 << 20); for (let i = 0; i < 200; i++) h = require('crypto').createHash('sha256').update(h).update(Buffer.alloc(1 << 20)).digest(); process.stdout.write('done'); });";
    const server = spawn(process.execPath, ['-e', work], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const w = manual({ serverPid: server.pid });
      w.open();
      const done = new Promise((r) => server.stdout.once('data', r));
      server.stdin.write('go');
      await done;
      w.close();
      const f = w.figures();
      expect(f.serverCpuUs).toBeGreaterThan(0);
      expect(Number.isFinite(f.serverCpuUs)).toBe(true);
    } finally {
      server.kill('SIGKILL');
    }
    const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const w = manual({ serverPid: gone });
    w.open();
    w.close();
    expect(w.figures().serverCpuUs).toBe(0);
  });

  it('its timers open and close it at the agreed times; frames count exactly while it is open', async () => {
    const openAt = nowNs() + 30e6;
    const closeAt = openAt + 50e6;
    const w = new MeasureWindow(openAt, closeAt);
    windows.push(w);
    let whileOpen = 0;
    let sawOpen = false;
    const deadline = Date.now() + 20_000; // a hang, not a slow machine
    while (!(sawOpen && !w.isOpen) && nowNs() < closeAt + 10e9 && Date.now() < deadline) {
      if (w.isOpen) {
        sawOpen = true;
        whileOpen++;
      }
      w.frame();
      await new Promise((r) => setTimeout(r, 1));
    }
    const f = w.figures();
    expect(f.frames).toBe(whileOpen);
    expect(f.seconds).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(f.proc)) expect(v, k).toBeGreaterThanOrEqual(0);
  }, 30_000);
});
