import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RING, sealOf } from '../transports/shm/layout';
import { shmNative, shmNativeUnavailableReason } from '../transports/shm/native';
import { IDX, mapRing } from '../transports/shm/segment';
import { killAll, spawnFixture } from './fixtures-shm/kit';
import { requireOrSkip } from './support/require';
import { killPeers, monoNs, peersUnavailable, ringDir, startConsumer, startProducer, type Peer } from './support/ring-c';

/**
 * Hostile producers against the C consumer (fb-ring-consumer), as test/shm-ring.test.ts and
 * test/shm-hostile.test.ts attack the Node one: this process (or the torture scribbler) maps a
 * region as a producer would and writes impossible cursors, seals and lengths, or claims and never
 * commits. The consumer must cut exactly that producer off (FB_ERR_RING_CORRUPT naming its index,
 * its id and the pid SO_PEERCRED gives), tell it (its line in the page: cut; its connection
 * closed), and keep delivering the honest C producer's frames, intact and in order.
 */
const REGION = 64 * 1024;
const dirs: string[] = [];
const open: { close(): void }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) o.close();
  await killPeers();
  await killAll();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

interface Hostile {
  index: number;
  u64: BigUint64Array;
  dv: DataView;
  page: DataView;
  sock: number;
  close(): void;
}

function hostile(address: string, id = 7): Hostile {
  const m = mapRing(address);
  const dv = new DataView(m.region);
  dv.setUint32(RING.OFF_PRODUCER_ID, id, true);
  let closed = false;
  const h = {
    index: m.index,
    u64: new BigUint64Array(m.region),
    dv,
    page: new DataView(m.page),
    sock: m.sock,
    close: () => {
      if (closed) return;
      closed = true;
      shmNative().closeFd(m.sock);
      shmNative().unmap(m.region);
      shmNative().unmap(m.page);
    },
  };
  open.push(h);
  return h;
}

/** Bumps the hostile region's dataSeq and wakes the consumer, as a producer's commit does. */
function poke(h: Hostile, ab = h.u64.buffer as ArrayBuffer): void {
  h.dv.setUint32(RING.OFF_DATA_SEQ, h.dv.getUint32(RING.OFF_DATA_SEQ, true) + 1, true);
  shmNative().futexWake(ab, RING.OFF_DATA_SEQ, 1);
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A C consumer (2 producers) with an honest C producer (id 0) flowing at 300 fps. */
async function setup(claimTimeoutMs = 5000, maxFrameBytes = REGION - 32): Promise<{ cons: Peer; prod: Peer; address: string }> {
  const d = ringDir();
  dirs.push(d);
  const { peer: cons, address } = await startConsumer({ socketPath: path.join(d, 'r.sock'), producers: 2, regionBytes: REGION, claimTimeoutMs, maxFrameBytes });
  const prod = await startProducer({ address, producerId: 0, sizes: [[64, 64], [32, 18]], pacing: 'fps', fps: 300 });
  const t0 = monoNs() + 10e6;
  for (const p of [cons, prod]) p.send({ t: 'start', t0Ns: t0 });
  for (const p of [cons, prod]) p.send({ t: 'window', openNs: t0, closeNs: t0 + 1500e6 });
  return { cons, prod, address };
}

/** Waits for the cut-off line on the consumer's stderr; then the honest producer's frames all arrive, intact. */
async function expectCut(cons: Peer, prod: Peer, h: Hostile, why: RegExp): Promise<void> {
  await until('the cut-off report', () => cons.stderr.some((l) => l.includes('FB_ERR_RING_CORRUPT')));
  const line = cons.stderr.find((l) => l.includes('FB_ERR_RING_CORRUPT'))!;
  expect(line).toMatch(new RegExp(`producer #${h.index} \\(id 7, pid ${process.pid}\\) cut off: ${why.source}`));
  // it learns it: its line says cut, and its connection ends
  expect(h.page.getUint32(RING.OFF_LINES + h.index * RING.LINE_BYTES + RING.LINE_STATE, true)).toBe(RING.LINE_CUT);
  await until('its connection to end', () => shmNative().peerGone(h.sock));
  const done = await prod.next('done');
  cons.send({ t: 'drain', expected: [done.framesAccepted, 0], timeoutMs: 5000 });
  const d = await cons.next('done');
  expect(d.drained).toBe(true);
  expect(d.framesCorrupt).toBe(0);
  expect(d.firstProblem).toBeNull();
  expect((d.receivedPerProducer as number[])[0]).toBe(done.framesAccepted);
  expect((d.stats as Record<string, number>).cutOff).toBe(1);
  expect((d.ringErrors as { code: string }[]).map((e) => e.code)).toEqual(['FB_ERR_RING_CORRUPT']);
  cons.send({ t: 'exit' });
  expect(await cons.exited).toEqual({ code: 0, signal: null });
}

const skip = requireOrSkip('shm', peersUnavailable() ?? shmNativeUnavailableReason());

describe.skipIf(skip)('C consumer: hostile producers are cut off, the honest one flows', () => {
  it('an impossible reserve cursor', async () => {
    const { cons, prod, address } = await setup();
    const h = hostile(address);
    h.u64[IDX.reserve] = 0xffffffffffff0000n;
    poke(h);
    await expectCut(cons, prod, h, /reserve cursor 18446744073709486080 outside/);
  });

  it('a reserve cursor that is not record-aligned', async () => {
    const { cons, prod, address } = await setup();
    const h = hostile(address);
    h.u64[IDX.reserve] = 33n;
    poke(h);
    await expectCut(cons, prod, h, /reserve cursor 33 outside/);
  });

  it('a sealed record whose length runs past the end of the region', async () => {
    const { cons, prod, address } = await setup();
    const h = hostile(address);
    h.dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, 0xfffffff0, true);
    h.u64[RING.HEADER_BYTES / 8] = sealOf(0, RING.REC_COMMITTED);
    h.u64[IDX.reserve] = 64n;
    poke(h);
    await expectCut(cons, prod, h, /record at 0 claims 4294967280 B/);
  });

  it('a sealed record longer than what was reserved', async () => {
    const { cons, prod, address } = await setup();
    const h = hostile(address);
    h.dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, 1000, true);
    h.u64[RING.HEADER_BYTES / 8] = sealOf(0, RING.REC_COMMITTED);
    h.u64[IDX.reserve] = 64n;
    poke(h);
    await expectCut(cons, prod, h, /record at 0 claims 1000 B .*reserve 64/);
  });

  it('a reservation never committed: cut off after claimTimeoutMs, the honest producer never held up', async () => {
    const { cons, prod, address } = await setup(300);
    const h = hostile(address);
    h.dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, 100, true);
    h.u64[RING.HEADER_BYTES / 8] = sealOf(0, RING.REC_RESERVED);
    h.u64[IDX.reserve] = 160n;
    poke(h);
    await expectCut(cons, prod, h, /a record claimed at 0 was not committed within 300 ms/);
  });

  it('a seal of another lap (stale): a claim, cut off after claimTimeoutMs', async () => {
    const { cons, prod, address } = await setup(300);
    const h = hostile(address);
    h.dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, 10, true);
    h.u64[RING.HEADER_BYTES / 8] = sealOf(REGION, RING.REC_COMMITTED); // the right offset, one lap later
    h.u64[IDX.reserve] = 64n;
    poke(h);
    await expectCut(cons, prod, h, /a record claimed at 0 was not committed/);
  });

  it('a record above maxFrameBytes is skipped (FB_ERR_PROTOCOL), not cut; the next one is read', async () => {
    const { cons, prod, address } = await setup(5000, 8192);
    const h = hostile(address);
    h.dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, 9000, true);
    h.u64[RING.HEADER_BYTES / 8] = sealOf(0, RING.REC_COMMITTED);
    h.dv.setUint32(RING.HEADER_BYTES + 9056 + RING.REC_LENGTH, 0, true);
    h.u64[(RING.HEADER_BYTES + 9056) / 8] = sealOf(9056, RING.REC_PAD);
    h.u64[IDX.reserve] = 9056n + 32n;
    poke(h);
    await until('the skip report', () => cons.stderr.some((l) => l.includes('FB_ERR_PROTOCOL')));
    expect(cons.stderr.find((l) => l.includes('FB_ERR_PROTOCOL'))).toMatch(/a 9000 B record from producer #\d+ \(id 7, pid \d+\) exceeds maxRecordBytes 8192; skipped/);
    // the space is released: the read cursor in the page moved past both records
    await until('the read cursor', () => h.page.getBigUint64(RING.OFF_LINES + h.index * RING.LINE_BYTES + RING.LINE_READ, true) === 9088n);
    const done = await prod.next('done');
    cons.send({ t: 'drain', expected: [done.framesAccepted, 0], timeoutMs: 5000 });
    const d = await cons.next('done');
    expect(d.drained).toBe(true);
    expect((d.stats as Record<string, number>).oversize).toBe(1);
    expect((d.stats as Record<string, number>).cutOff).toBe(0);
  });

  it('a pad flood (the torture flooder): it meets the seals of C-made memory; the honest producer flows, nothing is cut', async () => {
    const { cons, prod, address } = await setup();
    const flood = spawnFixture('flooder.js', [address, '1000', 'pads']);
    const started = (await flood.next('started')) as { truncate: string[]; pageWrite: string[]; pageProtect: string };
    expect(started.truncate).toEqual(['EPERM', 'EPERM', 'EPERM', 'EPERM']); // page and region, own descriptors and /proc
    expect(started.pageWrite.every((c) => c === 'EPERM' || c === 'EACCES')).toBe(true);
    expect(started.pageProtect).toBe('EACCES');
    const fd = (await flood.next('done', 20_000)) as { pads: number };
    expect(fd.pads).toBeGreaterThan(1000);
    const done = await prod.next('done');
    cons.send({ t: 'drain', expected: [done.framesAccepted, 0], timeoutMs: 5000 });
    const d = await cons.next('done');
    expect(d.drained).toBe(true);
    expect(d.framesCorrupt).toBe(0);
    const st = d.stats as Record<string, number>;
    expect(st.pads).toBeGreaterThan(1000);
    expect(st.cutOff).toBe(0);
  });

  it('during a pad flood the C consumer still answers stdin: exit ends it at once, its socket removed', async () => {
    const { cons, address } = await setup();
    const flood = spawnFixture('flooder.js', [address, '3000', 'pads']);
    await flood.next('started');
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    cons.send({ t: 'exit' });
    expect(await cons.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(fs.existsSync(address)).toBe(false);
  });

  it.each([
    [1, 'all'],
    [2, 'all'],
    [3, 'records'],
    [4, 'records'],
  ])('the torture scribbler (seed %i, %s) is cut off; the honest producer keeps flowing', async (seed, where) => {
    const { cons, prod, address } = await setup(300);
    const scribbler = spawnFixture('scribbler.js', [address, '800', String(seed), where]);
    const { index } = (await scribbler.next('started')) as { index: number };
    await until('the cut-off report', () => cons.stderr.some((l) => l.includes('FB_ERR_RING_CORRUPT')));
    expect(cons.stderr.find((l) => l.includes('FB_ERR_RING_CORRUPT'))).toMatch(new RegExp(`producer #${index} \\(id \\d+, pid ${scribbler.proc.pid}\\) cut off`));
    expect((await scribbler.exited).signal).toBeNull();
    const done = await prod.next('done');
    cons.send({ t: 'drain', expected: [done.framesAccepted, 0], timeoutMs: 5000 });
    const d = await cons.next('done');
    expect(d.drained).toBe(true);
    // what the scribbler got through the ring before its cut-off may reach the frame check, which
    // reports it corrupt (its random words are no frame); the honest producer 0's frames never are
    if ((d.framesCorrupt as number) > 0) expect(String(d.firstProblem)).not.toMatch(/^producer 0 seq/);
    expect((d.receivedPerProducer as number[])[0]).toBeGreaterThanOrEqual(done.framesAccepted as number);
    expect((d.stats as Record<string, number>).cutOff).toBe(1);
    for (const e of d.ringErrors as { code: string }[]) expect(['FB_ERR_RING_CORRUPT', 'FB_ERR_PEER_GONE', 'FB_ERR_PROTOCOL']).toContain(e.code);
    cons.send({ t: 'exit' });
    expect(await cons.exited).toEqual({ code: 0, signal: null });
  });
});
