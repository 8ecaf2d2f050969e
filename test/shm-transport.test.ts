import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { regionBytes, shmCopyTransport, shmTransport } from '../transports/shm/transport';
import { RING } from '../transports/shm/layout';
import type { Receiver, ReceiverOptions, Sender, SenderOptions, Transport } from '../transports/types';
import { killAll, spawnFixture } from './fixtures-shm/kit';

/** What the shm adapters add to the ring: zero-copy views vs private copies, options, stats, policies. */
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-shm-'));
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await killAll();
  for (const x of opened.splice(0)) await x.close();
});

async function pair(t: Transport, r: Partial<ReceiverOptions> = {}, s: Partial<SenderOptions> = {}): Promise<[Receiver, Sender]> {
  const rx = await t.createReceiver({ runDir, maxFrameBytes: 1 << 20, producers: 1, policy: 'block', options: {}, ...r });
  opened.push(rx);
  const tx = await t.openSender(rx.address, { producerId: 0, maxFrameBytes: 1 << 20, policy: 'block', options: {}, ...s });
  opened.unshift(tx);
  return [rx, tx];
}

/**
 * Resolves after `n` timer callbacks, one after another: the event loop turned n times. A wait
 * that holds the loop never lets them run, and the test's timeout (a hang, not a speed) catches it.
 */
async function loopTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 1));
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
  expect(cond()).toBe(true);
};

describe('shm transports', () => {
  it('shm hands the handler a view into the mapping; shm-copy a private buffer, the slot already free (at most 4 held, the rest wait in the ring)', async () => {
    const ringBytes = 64 * 1024;
    for (const [t, inRing] of [[shmTransport, true], [shmCopyTransport, false]] as const) {
      const [rx, tx] = await pair(t, { maxFrameBytes: 30_000, options: { ringBytes } });
      const views: Uint8Array[] = [];
      const releases: (() => void)[] = [];
      rx.start((f, release) => {
        views.push(f);
        releases.push(release); // hold every frame
      });
      expect(t.capabilities.zeroCopy).toBe(inRing);
      expect(typeof tx.loan).toBe(inRing ? 'function' : 'undefined');
      const frame = new Uint8Array(20_000).fill(9);
      for (let i = 0; i < 6; i++) expect(await Promise.race([tx.send(frame), new Promise((r) => setTimeout(() => r('blocked'), 300))])).toBe(inRing && i >= 3 ? 'blocked' : true);
      // shm: 3 records fill the 64 KiB ring. shm-copy: 4 copies out (their slots free), 2 wait in the ring.
      await until(() => views.length >= (inRing ? 3 : 4));
      await new Promise((r) => setTimeout(r, 50));
      expect(views.length).toBe(inRing ? 3 : 4);
      expect(views[0].buffer.byteLength === RING.HEADER_BYTES + ringBytes).toBe(inRing);
      expect(views.every((v) => v.byteLength === 20_000 && v[0] === 9 && v[19_999] === 9)).toBe(true);
      releases.splice(0).forEach((f) => f());
      if (!inRing) {
        await until(() => views.length === 6); // released copies let the waiting records through
        releases.splice(0).forEach((f) => f());
      }
      const st = rx.stats();
      for (const k of ['records', 'futexWaits', 'futexWakes', 'spins', 'drops', 'handoffP50Us', 'handoffP99Us']) expect(st).toHaveProperty(k);
      for (const k of ['records', 'drops', 'futexWaits', 'futexWakes', 'spins']) expect(tx.stats()).toHaveProperty(k);
      await tx.close();
      await rx.close();
    }
  });

  it('shm with copyOut: loan() stays (zero-copy send), the handler gets a private copy, the ring slot already free', async () => {
    const ringBytes = 64 * 1024;
    const [rx, tx] = await pair(shmTransport, { maxFrameBytes: 30_000, options: { ringBytes, copyOut: true } });
    const views: Uint8Array[] = [];
    rx.start((f) => views.push(f)); // holds every frame
    expect(typeof tx.loan).toBe('function');
    const frame = new Uint8Array(20_000).fill(9);
    for (let i = 0; i < 4; i++) expect(await tx.send(frame)).toBe(true); // 4 > the 3 a 64 KiB ring holds
    await until(() => views.length === 4);
    expect(views.every((v) => v.buffer.byteLength !== RING.HEADER_BYTES + ringBytes && v[0] === 9)).toBe(true);
    expect(rx.stats().held).toBe(0);
  });

  it('drop policy through the transport: send resolves false, loan null', async () => {
    const [rx, tx] = await pair(shmTransport, { maxFrameBytes: 2000, options: { ringBytes: 4096 } }, { policy: 'drop' });
    rx.start(() => {}); // never releases
    const results: boolean[] = [];
    for (let i = 0; i < 6; i++) results.push(await tx.send(new Uint8Array(1000)));
    await new Promise((r) => setTimeout(r, 20));
    expect(results.filter((x) => !x).length).toBeGreaterThan(0);
    expect(await tx.loan!(1000)).toBeNull();
    expect(tx.stats().drops).toBe(results.filter((x) => !x).length + 1);
  });

  it('options are validated with codes', async () => {
    const base = { runDir, maxFrameBytes: 1 << 20, producers: 1, policy: 'block' as const };
    await expect(shmTransport.createReceiver({ ...base, options: { ringBytes: 'big' } })).rejects.toMatchObject({ code: 'FB_ERR_BAD_NUMBER' });
    await expect(shmTransport.createReceiver({ ...base, options: { spin: -1 } })).rejects.toMatchObject({ code: 'FB_ERR_BAD_NUMBER' });
    await expect(shmTransport.createReceiver({ ...base, options: { ringBytes: 65536 } })).rejects.toMatchObject({ code: 'FB_ERR_FRAME_TOO_LARGE' });
    const nobody = path.join(runDir, 'ring-0123456789abcdef.sock');
    await expect(shmTransport.openSender(nobody, { producerId: 0, maxFrameBytes: 100, policy: 'block', options: {} })).rejects.toMatchObject({ code: 'FB_ERR_PEER_GONE' });
    // an old-style /dev/shm name is no ring address any more
    await expect(shmTransport.openSender('/framebench-0123456789abcdef0123456789abcdef', { producerId: 0, maxFrameBytes: 100, policy: 'block', options: {} })).rejects.toMatchObject({ code: 'FB_ERR_PROTOCOL' });
    await expect(shmTransport.openSender('/etc/passwd', { producerId: 0, maxFrameBytes: 100, policy: 'block', options: {} })).rejects.toMatchObject({ code: 'FB_ERR_PROTOCOL' });
    expect(shmTransport.unavailableReason()).toBeNull();
  });

  it('without the addon: FB_ERR_NATIVE_UNAVAILABLE with the reason, no dlopen trace', () => {
    const loader = path.join(__dirname, '..', 'dist', 'transports', 'shm', 'ring.js');
    const script = `const r = require(${JSON.stringify(loader)}); try { r.createRing({ ringBytes: 4096 }); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const out = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, FRAMEBENCH_SHM_ADDON: '/nonexistent/framebench_shm.node' }, encoding: 'utf8' });
    const res = JSON.parse(out.stdout.trim());
    expect(res.code).toBe('FB_ERR_NATIVE_UNAVAILABLE');
    expect(res.message).toMatch(/not found.*build:native/);
    expect(res.message.split('\n')).toHaveLength(1);
  });

  it('the event loop keeps turning while a side waits (consumer on an idle ring, producer on a full ring)', async () => {
    // Consumer side: a remote producer is attached and idle, so the consumer sleeps in the futex.
    const [rx] = await pair(shmTransport, { maxFrameBytes: 2000, options: { ringBytes: 8192 } });
    let got = 0;
    rx.start((_f, release) => {
      got++;
      release();
    });
    const child = spawnFixture('producer.js', [JSON.stringify({ name: rx.address, producer: 0, count: 3, maxLen: 100, mode: 'hold' })]);
    await child.next('holding');
    await loopTurns(50); // while the consumer waits on the idle ring
    expect(got).toBe(3);

    // Producer side: the consumer (another process) never consumes, the sender blocks on a full ring.
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'idle', ringBytes: 8192 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const tx = await shmTransport.openSender(name, { producerId: 0, maxFrameBytes: 2000, policy: 'block', options: {} });
    opened.unshift(tx);
    const codes: string[] = [];
    tx.onError((e) => codes.push(e.code));
    const sends: Promise<boolean>[] = [];
    let settled = 0;
    for (let i = 0; i < 12; i++) sends.push(tx.send(new Uint8Array(1000)).catch(() => false).finally(() => settled++));
    await until(() => Number(tx.stats().fullWaits) > 0);
    await loopTurns(50); // while the sender waits on the full ring
    expect(settled).toBeLessThan(12); // 12 KB do not fit in an 8 KB ring nobody reads: the rest still wait
    expect(codes).toEqual([]);
    consumer.proc.kill('SIGKILL');
    await Promise.all(sends);
    expect(settled).toBe(12);
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
  }, 30_000);
});

describe('shm transport option ringBytes', () => {
  const MiB = 1024 * 1024;
  const i420 = 1920 * 1080 * 1.5 + 64;
  it('is split between the producers of the run, each region holding at least three frames', () => {
    expect(regionBytes(64 * MiB, 1, i420)).toBe(64 * MiB);
    expect(regionBytes(64 * MiB, 4, i420)).toBe(16 * MiB); // 4 regions: the memory of one ring
    const rgba4k = 3840 * 2160 * 4 + 64;
    const r = regionBytes(64 * MiB, 4, rgba4k); // a share of 16 MiB cannot hold 3 frames: the whole 64 MiB each
    expect(r).toBe(64 * MiB);
    expect(regionBytes(64 * MiB, 64, 1000) % 4096).toBe(0);
    expect(regionBytes(64 * MiB, 64, 1000)).toBe(MiB); // 64 MiB / 64
  });
});
