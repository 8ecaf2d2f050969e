import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRing, openRing, type RingConsumer, type RingProducer } from '../transports/shm/ring';
import { shmNativeUnavailableReason } from '../transports/shm/native';
import { FRAME_MAGIC, HEADER_BYTES, emptyHeader, readHeader } from '../core/frame';
import { frameSpec } from '../core/spec';
import { SyntheticSource } from '../sources/synthetic';
import { ChecksumVerifier } from '../harness/checksum-verifier';
import { payloadChecksum } from '../measure/checksum-native';
import { requireOrSkip } from './support/require';
import { killPeers, monoNs, peersUnavailable, ringDir, spawnPeer, startConsumer, startProducer, type Peer } from './support/ring-c';

/**
 * The ring from C and from Node (issue 16, items 1-2): the native peers (native/c, docs/ring-c.md)
 * against the TypeScript ends, both ways, through the harness line protocol. Every frame is
 * checked the way the harness checks it (header, order per producer, checksum of every payload
 * byte), with regions small enough that the frames wrap around many times, in several sizes.
 */
const SIZES: [number, number][] = [
  [320, 240],
  [64, 64],
  [200, 100],
  [2, 2],
  [160, 90],
];

const dirs: string[] = [];
const closers: { close(): void }[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) c.close();
  await killPeers();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = ringDir();
  dirs.push(d);
  return d;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Tells every peer to start at t0 and measure [t0 + openMs, t0 + closeMs). */
function go(peers: Peer[], openMs: number, closeMs: number): number {
  const t0 = monoNs() + 30e6;
  for (const p of peers) p.send({ t: 'start', t0Ns: t0 });
  for (const p of peers) p.send({ t: 'window', openNs: t0 + openMs * 1e6, closeNs: t0 + closeMs * 1e6 });
  return t0;
}

/** A Node consumer that checks every frame like harness/consumer.ts does. */
function nodeConsumer(ringBytes: number, producers: number): { ring: RingConsumer; received: number[]; problems: string[]; errors: string[] } {
  const ring = createRing({ ringBytes, dir: dir() });
  closers.push(ring);
  const verifier = new ChecksumVerifier(payloadChecksum(), null);
  const received = new Array<number>(producers).fill(0);
  const next = new Array<number>(producers).fill(0);
  const problems: string[] = [];
  const errors: string[] = [];
  const h = emptyHeader();
  ring.onError((e) => errors.push(`${e.code}: ${e.message}`));
  ring.start((payload, release) => {
    readHeader(new DataView(payload.buffer, payload.byteOffset, HEADER_BYTES), h);
    if (h.magic !== FRAME_MAGIC || h.payloadBytes + HEADER_BYTES !== payload.byteLength || h.producerId >= producers) problems.push('bad header');
    else if (h.seq !== next[h.producerId]) problems.push(`producer ${h.producerId}: seq ${h.seq}, expected ${next[h.producerId]}`);
    else {
      next[h.producerId]++;
      received[h.producerId]++;
      const bad = verifier.verify(payload, h.producerId, h.seq);
      if (bad) problems.push(bad);
    }
    release();
  });
  return { ring, received, problems, errors };
}

const skip = requireOrSkip('shm', peersUnavailable() ?? shmNativeUnavailableReason());

describe.skipIf(skip)('native ring peers (C) and the Node ring, both ways', () => {
  it('C producers into a Node consumer: wrap-around, five sizes, two producers; every frame in order, checksum right', async () => {
    const c = nodeConsumer(512 * 1024, 2);
    const ps = await Promise.all([0, 1].map((i) => startProducer({ address: c.ring.name, producerId: i, sizes: SIZES, pacing: 'max', format: i ? 'rgba' : 'i420' })));
    go(ps, 50, 500);
    const dones = await Promise.all(ps.map((p) => p.next('done')));
    const accepted = dones.map((d) => Number(d.framesAccepted));
    await until('every accepted frame', () => c.received.every((n, i) => n >= accepted[i]));
    expect(c.problems).toEqual([]);
    expect(c.errors).toEqual([]);
    expect(c.received).toEqual(accepted);
    for (const d of dones) {
      expect(d.framesGenerated).toBe(d.framesAccepted);
      expect(Number(d.windowFrames)).toBeGreaterThan(0);
      expect(Number(d.windowFrames)).toBeLessThanOrEqual(Number(d.framesAccepted));
      const st = d.stats as Record<string, number>;
      expect(st.records).toBe(d.framesAccepted);
      expect(st.userUs + st.systemUs).toBeGreaterThan(0);
    }
    // it wrapped: more bytes went through each region than it holds, with pads at the end
    expect(c.ring.stats().bytes).toBeGreaterThan(4 * 512 * 1024);
    expect(c.ring.stats().pads).toBeGreaterThan(0);
    for (const p of ps) p.send({ t: 'exit' });
    for (const p of ps) expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('a Node producer (RingProducer) and a C producer into the C consumer: all frames, in order, checksums right', async () => {
    const { peer: cons, address } = await startConsumer({ socketPath: path.join(dir(), 'r.sock'), producers: 2, regionBytes: 256 * 1024 });
    const cp = await startProducer({ address, producerId: 1, sizes: SIZES, pacing: 'max' });
    const np: RingProducer = openRing(address, { producerId: 0 });
    closers.push(np);
    const sources = SIZES.map(([w, h]) => new SyntheticSource(frameSpec('i420', w, h), 0));
    go([cons, cp], 0, 400);
    const N = 2000;
    for (let seq = 0; seq < N; seq++) {
      const src = sources[seq % sources.length];
      const loan = await np.loan(src.spec.totalBytes);
      src.fill(loan!.view, seq, monoNs(), 0);
      loan!.commit();
    }
    const cd = await cp.next('done');
    cons.send({ t: 'drain', expected: [N, cd.framesAccepted], timeoutMs: 10_000 });
    const d = await cons.next('done');
    expect(d.firstProblem).toBeNull();
    expect(d.framesCorrupt).toBe(0);
    expect(d.gaps).toBe(0);
    expect(d.outOfOrder).toBe(0);
    expect(d.drained).toBe(true);
    expect(d.receivedPerProducer).toEqual([N, cd.framesAccepted]);
    expect(d.ringErrors).toEqual([]);
    const st = d.stats as Record<string, number>;
    expect(st.checksumFrames).toBe(N + Number(cd.framesAccepted));
    expect(st.pads).toBeGreaterThan(0);
    expect(np.stats().pads).toBeGreaterThan(0);
    const lat = d.latencyUs as number[];
    expect(lat.length).toBeGreaterThan(0);
    expect(lat.every((x) => x >= 0 && x < 10e6)).toBe(true);
    np.close();
    cons.send({ t: 'exit' });
    cp.send({ t: 'exit' });
    expect(await cons.exited).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(address)).toBe(false);
  });

  it('paced C peers: latency samples only for frames scheduled in the window; window counts on both sides', async () => {
    const { peer: cons, address } = await startConsumer({ socketPath: path.join(dir(), 'r.sock'), producers: 1, regionBytes: 1 << 20 });
    const p = await startProducer({ address, producerId: 0, sizes: [[320, 240]], pacing: 'fps', fps: 100 });
    go([cons, p], 100, 600);
    const pd = await p.next('done');
    // paced at 100 fps until closeNs: frames 0..59 scheduled in [t0, t0 + 600 ms)
    expect(pd.framesGenerated).toBe(60);
    cons.send({ t: 'drain', expected: [pd.framesAccepted], timeoutMs: 5000 });
    const d = await cons.next('done');
    expect(d.drained).toBe(true);
    expect(d.framesReceived).toBe(60);
    expect((d.latencyUs as number[]).length).toBe(50); // frames 10..59
    // by completion time: a few frames either side of an edge may land on the other side on a busy machine
    expect(Math.abs(Number(d.windowFrames) - 50)).toBeLessThanOrEqual(5);
  });

  it('a producer blocked on a full ring is woken once per half ring, not once per record (and nothing is lost)', async () => {
    // a region of ~6 frames and a consumer slower than the producer: the producer sleeps for space
    // before nearly every frame; the consumer wakes it only when half the region is free again
    const frame = 320 * 240 * 1.5 + HEADER_BYTES;
    const c = nodeConsumer(6 * (frame + 64), 1);
    const busyUntil = (ms: number): void => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const p = await startProducer({ address: c.ring.name, producerId: 0, sizes: [[320, 240]], pacing: 'max' });
    const sampler = setInterval(() => busyUntil(4), 5); // the consumer's JS thread is busy most of the time
    try {
      go([p], 0, 800);
      const d = await p.next('done');
      await until('every accepted frame', () => c.received[0] >= Number(d.framesAccepted));
      expect(c.problems).toEqual([]);
      expect(c.received[0]).toBe(Number(d.framesAccepted));
      const pst = d.stats as Record<string, number>;
      const wakes = c.ring.stats().futexWakes;
      expect(pst.futexWaits).toBeGreaterThan(10); // it did block on a full ring
      expect(wakes).toBeGreaterThan(0);
      expect(wakes).toBeLessThanOrEqual(Number(d.framesAccepted) / 2);
    } finally {
      clearInterval(sampler);
    }
  });

  it('a producer killed mid-run: the consumer goes on with the other and reports the death (FB_ERR_PEER_GONE naming its pid)', async () => {
    const { peer: cons, address } = await startConsumer({ socketPath: path.join(dir(), 'r.sock'), producers: 2, regionBytes: 256 * 1024 });
    const ps = await Promise.all([0, 1].map((i) => startProducer({ address, producerId: i, sizes: SIZES, pacing: 'fps', fps: 500 })));
    go([cons, ...ps], 0, 800);
    await new Promise((r) => setTimeout(r, 300));
    ps[1].proc.kill('SIGKILL');
    const pd = await ps[0].next('done');
    cons.send({ t: 'drain', expected: [pd.framesAccepted, 0], timeoutMs: 5000 });
    const d = await cons.next('done');
    expect(d.drained).toBe(true);
    expect(d.framesCorrupt).toBe(0);
    expect((d.receivedPerProducer as number[])[0]).toBe(pd.framesAccepted);
    expect((d.receivedPerProducer as number[])[1]).toBeGreaterThan(0);
    const errs = d.ringErrors as { code: string; message: string }[];
    expect(errs).toEqual([{ code: 'FB_ERR_PEER_GONE', message: expect.stringMatching(new RegExp(`pid ${ps[1].proc.pid}\\) is gone`)) }]);
    expect((d.stats as Record<string, number>).peerGone).toBe(1);
  });

  it('drop policy: a stalled consumer makes the C producer drop (counted in its region too), never block; what it accepted all arrives', async () => {
    const { peer: cons, address } = await startConsumer({ socketPath: path.join(dir(), 'r.sock'), producers: 1, regionBytes: 64 * 1024 });
    const p = await startProducer({ address, producerId: 0, sizes: [[64, 64]], pacing: 'fps', fps: 2000, policy: 'drop' });
    go([cons, p], 0, 700);
    await new Promise((r) => setTimeout(r, 150));
    cons.proc.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 300));
    cons.proc.kill('SIGCONT');
    const pd = await p.next('done');
    expect(Number(pd.framesDropped)).toBeGreaterThan(0);
    expect(Number(pd.framesAccepted) + Number(pd.framesDropped)).toBe(pd.framesGenerated);
    expect((pd.stats as Record<string, number>).drops).toBe(pd.framesDropped);
    cons.send({ t: 'drain', expected: [pd.framesAccepted], timeoutMs: 5000 });
    const d = await cons.next('done');
    expect(d.drained).toBe(true);
    expect(d.framesReceived).toBe(pd.framesAccepted);
    expect(d.framesCorrupt).toBe(0);
    // like harness/producer.ts, a dropped frame still used its sequence number: the consumer sees each drop before
    // the last frame it received as a gap, and the drops after it (when the stall outlasted the producer's window,
    // as on a loaded machine) as the distance from its next expected sequence to the frames generated
    const nextSeq = (d.nextSeqPerProducer as number[])[0];
    expect(Number(d.gaps) + (Number(pd.framesGenerated) - nextSeq)).toBe(pd.framesDropped);
    expect((d.stats as Record<string, number>).drops).toBe(pd.framesDropped); // the producer's own word in its region
  });

  it('the consumer killed: a blocked producer reports FB_ERR_PEER_GONE and exits 1, never hangs', async () => {
    const { peer: cons, address } = await startConsumer({ socketPath: path.join(dir(), 'r.sock'), producers: 1, regionBytes: 256 * 1024 });
    const p = await startProducer({ address, producerId: 0, sizes: SIZES, pacing: 'max' });
    go([cons, p], 0, 60_000);
    await new Promise((r) => setTimeout(r, 200));
    cons.proc.kill('SIGSTOP'); // the ring fills: the producer blocks on its spaceSeq
    await new Promise((r) => setTimeout(r, 200));
    cons.proc.kill('SIGKILL');
    const e = await p.next('error', 5000);
    expect(e.code).toBe('FB_ERR_PEER_GONE');
    expect(await p.exited).toEqual({ code: 1, signal: null });
  });

  it('a C producer into a Node consumer that closes: FB_ERR_PEER_GONE, exit 1', async () => {
    const c = nodeConsumer(256 * 1024, 1);
    const p = await startProducer({ address: c.ring.name, producerId: 0, sizes: SIZES, pacing: 'max' });
    go([p], 0, 60_000);
    await until('frames', () => c.received[0] > 100);
    c.ring.close();
    const e = await p.next('error', 5000);
    expect(e.code).toBe('FB_ERR_PEER_GONE');
    expect(await p.exited).toEqual({ code: 1, signal: null });
    expect(c.problems).toEqual([]);
  });
});

describe.skipIf(skip)('native ring peers: bad input and lifetime', () => {
  const consumerInit = (over: Record<string, unknown>, sock: string): Record<string, unknown> => ({
    t: 'init', role: 'consumer', socketPath: sock, producers: 1, regionBytes: 65536, maxFrameBytes: 65504, claimTimeoutMs: 1000, ...over,
  });

  it.each([
    ['not json', 'FB_ERR_USAGE'],
    ['[1,2]', 'FB_ERR_USAGE'],
    [{ t: 'dance' }, 'FB_ERR_USAGE'],
    [{ t: 'start', t0Ns: 1 }, 'FB_ERR_USAGE'],
    [{ t: 'window', openNs: 1e300, closeNs: 1e301 }, 'FB_ERR_BAD_NUMBER'],
    [{ regionBytes: 100 }, 'FB_ERR_BAD_NUMBER'],
    [{ regionBytes: 65537 }, 'FB_ERR_BAD_NUMBER'],
    [{ producers: 0 }, 'FB_ERR_BAD_NUMBER'],
    [{ producers: 'two' }, 'FB_ERR_BAD_NUMBER'],
    [{ maxFrameBytes: 1e9 }, 'FB_ERR_BAD_NUMBER'],
    [{ role: 'producer' }, 'FB_ERR_USAGE'],
    [{ socketPath: 'relative.sock' }, 'FB_ERR_USAGE'],
    [{ socketPath: '/nonexistent-dir-fb/r.sock' }, 'FB_ERR_TRANSPORT_UNAVAILABLE'],
  ])('consumer: %j -> %s, exit 1', async (input, code) => {
    const sock = path.join(dir(), 'r.sock');
    const peer = spawnPeer('fb-ring-consumer');
    peer.send(typeof input === 'string' ? input : 't' in input && input.t !== 'init' ? input : consumerInit(input, sock));
    const e = await peer.next('error');
    expect(e.code).toBe(code);
    expect(typeof e.message).toBe('string');
    expect(await peer.exited).toEqual({ code: 1, signal: null });
  });

  it.each([
    [{ format: 'yuv' }, 'FB_ERR_BAD_FORMAT'],
    [{ sizes: [[3, 2]] }, 'FB_ERR_BAD_RESOLUTION'],
    [{ sizes: [[0, 2]] }, 'FB_ERR_BAD_RESOLUTION'],
    [{ sizes: [] }, 'FB_ERR_BAD_RESOLUTION'],
    [{ sizes: [[1920, 1080]] }, 'FB_ERR_FRAME_TOO_LARGE'],
    [{ pacing: 'fps', fps: 0 }, 'FB_ERR_BAD_NUMBER'],
    [{ policy: 'sometimes' }, 'FB_ERR_USAGE'],
    [{ yieldAfterWake: 'yes' }, 'FB_ERR_USAGE'],
    [{ producerId: -1 }, 'FB_ERR_BAD_NUMBER'],
    [{ address: 'gone' }, 'FB_ERR_PROTOCOL'],
    [{ address: '/tmp/framebench-nobody-serves-this.sock' }, 'FB_ERR_PEER_GONE'],
  ])('producer: %j -> %s, exit 1', async (over, code) => {
    const sock = path.join(dir(), 'r.sock');
    const { peer: cons } = await startConsumer({ socketPath: sock, producers: 1, regionBytes: 65536 });
    const peer = spawnPeer('fb-ring-producer');
    peer.send({ t: 'init', role: 'producer', address: sock, producerId: 0, format: 'i420', sizes: [[64, 64]], fps: 30, pacing: 'max', policy: 'block', ...over });
    const e = await peer.next('error');
    expect(e.code).toBe(code);
    expect(await peer.exited).toEqual({ code: 1, signal: null });
    cons.send({ t: 'exit' });
  });

  it('stdin EOF ends both peers (exit 0), the consumer removes its socket', async () => {
    const sock = path.join(dir(), 'r.sock');
    const { peer: cons } = await startConsumer({ socketPath: sock, producers: 1, regionBytes: 65536 });
    const p = await startProducer({ address: sock, producerId: 0, sizes: [[64, 64]], pacing: 'fps', fps: 10 });
    go([p], 0, 60_000);
    expect(fs.existsSync(sock)).toBe(true);
    p.proc.stdin!.end();
    expect(await p.exited).toEqual({ code: 0, signal: null });
    cons.proc.stdin!.end();
    expect(await cons.exited).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(sock)).toBe(false);
  });

  it('SIGTERM: the consumer removes its socket, then dies of the signal', async () => {
    const sock = path.join(dir(), 'r.sock');
    const { peer: cons } = await startConsumer({ socketPath: sock, producers: 1, regionBytes: 65536 });
    cons.proc.kill('SIGTERM');
    expect(await cons.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(fs.existsSync(sock)).toBe(false);
  });
});

