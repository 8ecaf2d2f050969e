import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRing, openRing, type RingConsumer } from '../transports/shm/ring';
import { shmNative, shmNativeUnavailableReason } from '../transports/shm/native';
import { RING } from '../transports/shm/layout';
import { mapRing, writePageHeader } from '../transports/shm/segment';
import { shmTransport } from '../transports/shm/transport';
import { killAll, spawnFixture, waitUntil } from './fixtures-shm/kit';
import { requireOrSkip } from './support/require';
import { killPeers, monoNs, peersUnavailable, ringDir, spawnPeer } from './support/ring-c';

/**
 * The consumer's eventfd wake mode (the default; docs/ring.md, "Waiting"): every producer gets an
 * eventfd of its own with its region and writes it when the page says the consumer sleeps; the
 * consumer's JS thread polls them on its own event loop. Checked here: a C producer and a Node
 * producer both wake it (their stamped signal gives the latency figure), a cut-off producer's
 * eventfd is closed by the consumer, and a page of the previous layout version is refused.
 */
const skip = requireOrSkip('shm', peersUnavailable() ?? shmNativeUnavailableReason());

const dirs: string[] = [];
const closers: { close(): void }[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c.close();
  await killAll();
  await killPeers();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = ringDir();
  dirs.push(d);
  return d;
}

/** This process's descriptors: all of them, and how many are eventfds. */
/** The kernel's id of an eventfd (fdinfo's eventfd-id), or -1. */
function eventfdId(fd: number | string): number {
  try {
    const m = /eventfd-id:\s*(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

/**
 * This process's descriptors: `other` counts those that are not eventfds, `ours` the eventfds with
 * kernel id `id` (copies of one eventfd share it). Other eventfds are left out: libuv and the test
 * runner make their own, lazily, at moments this test does not control.
 */
function fdCensus(id = -2): { other: number; ours: number } {
  let other = 0;
  let ours = 0;
  for (const f of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${f}`);
    } catch {
      continue; // (the directory's own descriptor, closed by now)
    }
    if (target !== 'anon_inode:[eventfd]') other++;
    else if (eventfdId(f) === id) ours++;
  }
  return { other, ours };
}

function counting(c: RingConsumer): { n: number } {
  const got = { n: 0 };
  c.start((_payload, release) => {
    got.n++;
    release();
  });
  return got;
}

/** A paced C producer (native/c) into ring `name` for `windowMs`: its 'done' message and the frames it accepted. */
async function pacedCProducer(name: string, windowMs: number, init: Record<string, unknown> = {}) {
  const cp = spawnPeer('fb-ring-producer');
  cp.send({ t: 'init', role: 'producer', address: name, producerId: 0, format: 'i420', sizes: [[64, 64]], fps: 100, pacing: 'fps', policy: 'block', ...init });
  await cp.next('ready');
  const t0 = monoNs() + 30e6;
  cp.send({ t: 'start', t0Ns: t0 });
  cp.send({ t: 'window', openNs: t0, closeNs: t0 + windowMs * 1e6 });
  const done = await cp.next('done');
  return { cp, done, accepted: Number(done.framesAccepted) };
}

describe.skipIf(skip)('shm consumer, wake: eventfd', () => {
  it('is woken by a C producer and by a Node producer (each stamps its signal: the wake latency has samples)', async () => {
    const c = createRing({ ringBytes: 256 * 1024, dir: dir(), wake: 'eventfd' });
    closers.push(c);
    const got = counting(c);

    // a C producer (native/c), paced: the consumer sleeps between frames, so each frame is a wake-up
    const { cp, done, accepted } = await pacedCProducer(c.name, 400);
    await waitUntil('every C frame', () => got.n >= accepted);
    const afterC = c.stats();
    expect(accepted).toBeGreaterThan(10);
    expect(Number((done.stats as Record<string, number>).futexWakes)).toBeGreaterThan(0); // its eventfd writes
    // The 200 ms watchdog alone would have delivered these without a single wake-up.
    expect(afterC.wakeups).toBeGreaterThan(accepted / 4);
    expect(afterC.wakeMaxUs).toBeGreaterThan(0); // samples exist only from producers' stamped signals
    cp.send({ t: 'exit' });
    expect(await cp.exited).toEqual({ code: 0, signal: null });
    await waitUntil('the C producer left', () => c.stats().producers === 0);

    // a Node producer in another process, paced
    const np = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'paced', name: c.name, count: 100, everyMs: 4 })]);
    await np.next('open');
    await np.next('done');
    await waitUntil('every Node frame', () => got.n >= accepted + 100);
    const afterNode = c.stats();
    expect(got.n).toBe(accepted + 100);
    expect(afterNode.wakeups - afterC.wakeups).toBeGreaterThan(100 / 4);
    expect(afterNode.wakeP50Us).toBeGreaterThan(0);
    expect(afterNode.futexTimeouts).toBe(0); // no waiter thread in this mode
  }, 30_000);

  it('yieldAfterWake: false (C and Node producers): they still wake it and every frame arrives', async () => {
    const c = createRing({ ringBytes: 256 * 1024, dir: dir(), wake: 'eventfd' });
    closers.push(c);
    const got = counting(c);
    const { cp, accepted } = await pacedCProducer(c.name, 300, { yieldAfterWake: false });
    await waitUntil('every C frame', () => got.n >= accepted);
    expect(accepted).toBeGreaterThan(10);
    expect(c.stats().wakeups).toBeGreaterThan(accepted / 4);
    cp.send({ t: 'exit' });
    expect(await cp.exited).toEqual({ code: 0, signal: null });
    await waitUntil('the C producer left', () => c.stats().producers === 0);
    const before = c.stats().wakeups;
    const np = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'paced', name: c.name, count: 60, everyMs: 4, yieldAfterWake: false })]);
    await np.next('open');
    await np.next('done');
    await waitUntil('every Node frame', () => got.n >= accepted + 60);
    expect(got.n).toBe(accepted + 60);
    expect(c.stats().wakeups - before).toBeGreaterThan(60 / 4);
  }, 30_000);

  it("a cut-off producer's eventfd is closed by the consumer: no descriptor left behind", async () => {
    const c = createRing({ ringBytes: 64 * 1024, dir: dir(), wake: 'eventfd' });
    closers.push(c);
    const errors: string[] = [];
    c.onError((e) => errors.push(e.code));
    counting(c);
    await new Promise((r) => setTimeout(r, 20)); // armed, idle
    const before = fdCensus();
    // a hostile producer in this very process (mapRing: its memory, unvalidated)
    const m = mapRing(c.name);
    expect(m.wakeFd).toBeGreaterThanOrEqual(0);
    expect(shmNative().isEventfd(m.wakeFd)).toBe(true);
    const id = eventfdId(m.wakeFd);
    expect(id).toBeGreaterThanOrEqual(0);
    await waitUntil('the consumer saw it arrive', () => c.stats().producers === 1);
    // The serving thread tells the consumer of the region before it sends the descriptors, and closes
    // its own copies of the eventfd and the region just after sending them: for that moment there are 3
    // copies of the eventfd (CI saw it). What must hold is where it settles.
    await waitUntil('the serving thread closed the copies it sent', () => fdCensus(id).ours <= 2 && fdCensus(id).other <= before.other + 2, 5000);
    const arrived = fdCensus(id);
    expect(arrived.ours).toBe(2); // its copy, and the consumer's
    expect(arrived.other).toBe(before.other + 2); // and its connection: both ends (the serving thread is in this process too)
    // an impossible reserve cursor (far beyond what the region holds), then a wake-up
    new DataView(m.region).setBigUint64(RING.OFF_RESERVE, 1n << 40n, true);
    shmNative().signalFd(m.wakeFd);
    await waitUntil('cut off', () => c.stats().cutOff === 1, 5000);
    expect(errors).toContain('FB_ERR_RING_CORRUPT');
    expect(c.stats().producers).toBe(0);
    expect(fdCensus(id).ours).toBe(1); // only the producer's own copy is left
    shmNative().closeFd(m.wakeFd);
    shmNative().closeFd(m.sock);
    shmNative().unmap(m.region);
    shmNative().unmap(m.page);
    await waitUntil('the serving thread closed its end of the connection', () => fdCensus().other === before.other, 5000);
    expect(fdCensus(id)).toEqual({ other: before.other, ours: 0 });
  }, 30_000);

  it('a worker thread that ends with its consumer open (or just closed) ends cleanly: its poll handles finish closing before the addon is unloaded', () => {
    const ring = path.join(__dirname, '..', 'dist', 'transports', 'shm', 'ring.js');
    for (const closeFirst of [false, true]) {
      const src = `
        const { Worker, isMainThread } = require('node:worker_threads');
        if (isMainThread) {
          new Worker(__filename, { argv: process.argv.slice(2) }).on('exit', (code) => console.log('worker exit ' + code));
        } else {
          const { createRing, openRing } = require(${JSON.stringify(ring)});
          const c = createRing({ ringBytes: 65536, wake: 'eventfd' });
          let n = 0;
          c.start((_p, release) => { n++; release(); });
          const p = openRing(c.name);
          p.send(new Uint8Array(10)).then(() => setTimeout(() => { console.log('got ' + n); if (${closeFirst}) c.close(); process.exit(0); }, 100));
        }`;
      const file = path.join(dir(), 'worker-exit.js');
      fs.writeFileSync(file, src);
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
      expect({ status: r.status, signal: r.signal, out: r.stdout.trim().split('\n') }).toEqual({ status: 0, signal: null, out: ['got 1', 'worker exit 0'] });
    }
  }, 60_000);

  it("the wake option: anything but 'eventfd' or 'thread' is refused with a code", async () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };
    expect(code(() => createRing({ ringBytes: 64 * 1024, dir: dir(), wake: 'futex' as 'thread' }))).toBe('FB_ERR_USAGE');
    await expect(shmTransport.createReceiver({ runDir: dir(), maxFrameBytes: 4096, producers: 1, policy: 'block', options: { wake: 'poll' } })).rejects.toMatchObject({ code: 'FB_ERR_CONFIG' });
  });

  it('thread mode hands out no eventfd; eventfd mode hands each producer a third descriptor (a producer of layout 2 demanded exactly two)', () => {
    for (const wake of ['thread', 'eventfd'] as const) {
      const c = createRing({ ringBytes: 64 * 1024, dir: dir(), wake });
      closers.push(c);
      const got = shmNative().fetchFd(c.name, 2000, true);
      try {
        expect(got.fds.length).toBe(wake === 'eventfd' ? 3 : 2);
        if (wake === 'eventfd') expect(shmNative().isEventfd(got.fds[2])).toBe(true);
        const page = shmNative().mapFd(shmNative().dupFd(got.fds[0]), false, true);
        expect(new DataView(page).getUint32(RING.OFF_WAKE_MODE, true)).toBe(wake === 'eventfd' ? RING.WAKE_EVENTFD : RING.WAKE_FUTEX);
        expect(new DataView(page).getUint32(RING.OFF_VERSION, true)).toBe(RING.VERSION);
        shmNative().unmap(page);
      } finally {
        for (const f of got.fds) shmNative().closeFd(f);
        shmNative().closeFd(got.sock);
      }
    }
  });

  it('a page of the previous layout version (3) is refused by the Node and the C producer: FB_ERR_RING_CORRUPT naming both versions', async () => {
    const native = shmNative();
    const made = native.memfdCreate(RING.PAGE_BYTES, true, true, 'framebench-page', true);
    const page = made.ab as ArrayBuffer;
    const capacity = 64 * 1024;
    writePageHeader(page, { version: RING.VERSION - 1, capacity, maxRecordBytes: capacity - RING.RECORD_HEADER_BYTES, createdNs: 0, wake: 'thread' });
    const sock = path.join(dir(), 'old.sock');
    const server = native.serveRing(sock, made.fd, RING.HEADER_BYTES + capacity);
    native.closeFd(made.fd);
    try {
      let err: { code?: string; message?: string } = {};
      try {
        closers.push(openRing(sock));
      } catch (e) {
        err = e as typeof err;
      }
      expect(err.code).toBe('FB_ERR_RING_CORRUPT');
      expect(err.message).toMatch(/layout version 3, this producer speaks 4/);

      const cp = spawnPeer('fb-ring-producer');
      cp.send({ t: 'init', role: 'producer', address: sock, producerId: 0, format: 'i420', sizes: [[64, 64]], fps: 30, pacing: 'max', policy: 'block' });
      const e = await cp.next('error');
      expect(e.code).toBe('FB_ERR_RING_CORRUPT');
      expect(String(e.message)).toMatch(/layout version 3, this producer speaks 4/);
      expect((await cp.exited).code).toBe(1);
    } finally {
      native.unserveFd(server);
      native.unmap(page);
    }
  }, 30_000);
});
