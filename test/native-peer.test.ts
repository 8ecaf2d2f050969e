import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeConsumer, PeerProgram } from '../harness/native-peer';
import type { CaseSpec } from '../core/case';
import type { NativeEnds } from '../transports/types';
import { decode } from '../core/histogram';

/**
 * The harness's side of a native peer program (harness/native-peer.ts), against small scripted
 * programs that speak (or break) the line protocol of docs/ring-c.md: what the relay makes of a
 * well-formed exchange, and that every way a program can fail reaches the harness as a stable code.
 * The real C programs are exercised end to end in test/ring-c*.test.ts and test/cli-native.test.ts.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-peer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An executable that runs `body` (Node) with `line(obj)` writing one protocol line. */
function program(name: string, body: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, `#!${process.execPath}\nconst line = (o) => process.stdout.write(JSON.stringify(o) + '\\n');\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const spec = (over: Partial<CaseSpec> = {}): CaseSpec => ({
  caseId: 't', transport: 'shm-node-c', scenario: 'realtime', pacing: 'fps', format: 'i420', sizes: [[64, 64]], fps: 30,
  warmupMs: 0, durationMs: 200, producers: 2, verify: 'checksum', source: 'synthetic', runDir: tmp, maxFrameBytes: 1 << 20,
  policy: 'block', transportOptions: {}, ...over,
});

const ends = (file: string): NativeEnds => ({ consumer: { program: () => file, init: () => ({ socketPath: path.join(tmp, 'x.sock') }) } });

describe('native peer relay (harness/native-peer.ts)', () => {
  it('relays init, start, window and drain, and builds the consumer report from the program\'s done line', async () => {
    const file = program('good', `
      const rl = require('readline').createInterface({ input: process.stdin });
      const seen = [];
      rl.on('line', (l) => {
        const m = JSON.parse(l); seen.push(m.t);
        if (m.t === 'init') line({ t: 'ready', address: m.socketPath });
        if (m.t === 'drain') line({ t: 'done', framesReceived: 7, framesCorrupt: 0, outOfOrder: 0, gaps: 1, receivedPerProducer: [3, 4],
          firstProblem: null, windowFrames: 5, latencyUs: [100, 200, 300], drained: true, stats: { records: 7, seen: seen.join(','), bad: null } });
        if (m.t === 'exit') process.exit(0);
      });`);
    const c = new NativeConsumer(spec(), ends(file));
    expect(await c.open()).toBe(path.join(tmp, 'x.sock'));
    c.start(Number(process.hrtime.bigint()));
    await new Promise((r) => setTimeout(r, 300)); // the window (0.2 s) closes
    const r = await c.drain([3, 4], 2000);
    await c.close();
    expect(r).toMatchObject({ framesReceived: 7, gaps: 1, receivedPerProducer: [3, 4], drained: true, firstProblem: null });
    expect(r.window.frames).toBe(5);
    expect(r.window.seconds).toBeGreaterThan(0.1);
    expect(Number.isFinite(r.window.proc.userUs + r.window.proc.systemUs)).toBe(true);
    expect(decode(r.histogram).totalCount).toBe(3);
    // the messages the program saw, in order; a stat that is neither a number nor a text is dropped
    expect(r.transportStats).toEqual({ records: 7, seen: 'init,start,window,drain' });
  });

  it('a producer the program cut off (ringErrors in its done line) fails the case with that code', async () => {
    const file = program('cut', `
      const rl = require('readline').createInterface({ input: process.stdin });
      rl.on('line', (l) => {
        const m = JSON.parse(l);
        if (m.t === 'init') line({ t: 'ready', address: m.socketPath });
        if (m.t === 'drain') line({ t: 'done', framesReceived: 3, framesCorrupt: 0, outOfOrder: 0, gaps: 0, receivedPerProducer: [3, 0], firstProblem: null,
          windowFrames: 3, latencyUs: [1], drained: false, stats: {}, ringErrors: [{ code: 'FB_ERR_RING_CORRUPT', message: 'producer 1 (pid 7): impossible cursor' }] });
        if (m.t === 'exit') process.exit(0);
      });`);
    const c = new NativeConsumer(spec({ durationMs: 50 }), ends(file));
    await c.open();
    c.start(Number(process.hrtime.bigint()));
    await expect(c.drain([3, 3], 1000)).rejects.toMatchObject({ code: 'FB_ERR_RING_CORRUPT', message: expect.stringContaining('impossible cursor') });
    await c.close();
  });

  it('a line that is not a message is FB_ERR_PROTOCOL', async () => {
    const p = new PeerProgram('consumer', program('garbage', `process.stdout.write('hello\\n'); setTimeout(() => {}, 5000);`), process.env);
    await expect(p.next('ready', 5000)).rejects.toMatchObject({ code: 'FB_ERR_PROTOCOL' });
    await p.stop();
  });

  it('an error line keeps its code; an unknown code is FB_ERR_INTERNAL', async () => {
    const a = new PeerProgram('consumer', program('err', `line({ t: 'error', code: 'FB_ERR_RING_CORRUPT', message: 'producer 1 cut off' }); process.exit(1);`), process.env);
    await expect(a.next('ready', 5000)).rejects.toMatchObject({ code: 'FB_ERR_RING_CORRUPT', message: expect.stringContaining('producer 1 cut off') });
    const b = new PeerProgram('consumer', program('err2', `line({ t: 'error', code: 'NOPE', message: 'x' }); process.exit(1);`), process.env);
    await expect(b.next('ready', 5000)).rejects.toMatchObject({ code: 'FB_ERR_INTERNAL' });
  });

  it('a program that dies is FB_ERR_PEER_GONE naming its last stderr line; one that does not start is FB_ERR_NATIVE_UNAVAILABLE', async () => {
    const a = new PeerProgram('producer 0', program('die', `process.stderr.write('mmap failed\\n'); process.kill(process.pid, 'SIGKILL');`), process.env);
    await expect(a.next('ready', 5000)).rejects.toMatchObject({ code: 'FB_ERR_PEER_GONE', message: expect.stringMatching(/producer 0 \(native.*SIGKILL/) });
    const b = new PeerProgram('consumer', path.join(tmp, 'no-such-program'), process.env);
    await expect(b.next('ready', 5000)).rejects.toMatchObject({ code: 'FB_ERR_NATIVE_UNAVAILABLE' });
  });

  it('a program that does not answer in time is FB_ERR_TIMEOUT, and stop() kills one that ignores exit', async () => {
    const p = new PeerProgram('consumer', program('mute', `process.stdin.resume(); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`), process.env);
    await expect(p.next('ready', 200)).rejects.toMatchObject({ code: 'FB_ERR_TIMEOUT' });
    const t0 = Date.now();
    await p.stop();
    expect(p.proc.exitCode !== null || p.proc.signalCode !== null).toBe(true);
    expect(Date.now() - t0).toBeLessThan(10_000);
  }, 15_000);
});
