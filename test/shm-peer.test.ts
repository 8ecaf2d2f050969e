import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { RING, slotOffset } from '../transports/shm/layout';
import { shmNative } from '../transports/shm/native';
import { IDX, mapRing } from '../transports/shm/segment';
import { cleanStaleSegments, createRing, openRing, type RingConsumer, type RingProducer } from '../transports/shm/ring';
import { checkRecord, fillRecord } from '../torture/ring-peers/records';
import { killAll, segmentExists, spawnFixture, waitUntil } from './fixtures-shm/kit';

/**
 * Peer death and process-level cleanup: kill -9 of a producer mid-record and of the consumer;
 * the survivor reports FB_ERR_PEER_GONE once and never hangs (test timeouts catch a hang); no segment is
 * left in /dev/shm; SIGTERM removes the segment and still terminates the process.
 */
const closers: { close(): void }[] = [];
afterEach(async () => {
  await killAll();
  for (const c of closers.splice(0)) c.close();
});

describe('shm ring: peer death', () => {
  it('kill -9 of a producer holding a half-written record: PEER_GONE, the ring goes on', async () => {
    const c: RingConsumer = createRing({ ringBytes: 64 * 1024 });
    closers.push(c);
    const codes: string[] = [];
    c.onError((e) => codes.push(e.code));
    const seen: string[] = [];
    c.start((payload, release) => {
      const r = checkRecord(payload);
      seen.push(typeof r === 'string' ? `bad: ${r}` : `${r.producer}:${r.seq}`);
      release();
    });
    const victim = spawnFixture('producer.js', [JSON.stringify({ name: c.name, producer: 7, count: 5, maxLen: 500, mode: 'hold' })]);
    await victim.next('holding');
    await waitUntil('the victim’s 5 records', () => seen.filter((s) => s.startsWith('7:')).length === 5);
    // A live producer in this process queues records behind the stuck reservation.
    const p: RingProducer = openRing(c.name, { producerId: 1 });
    closers.unshift(p);
    for (let seq = 0; seq < 3; seq++) {
      const l = (await p.loan(100))!;
      fillRecord(l.view, 1, seq);
      l.commit();
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.filter((s) => s.startsWith('1:'))).toEqual([]); // blocked behind the reservation
    expect(codes).toEqual([]); // a stuck producer that is alive is not declared gone
    victim.proc.kill('SIGKILL');
    await waitUntil('PEER_GONE', () => codes.length > 0, 10_000);
    await waitUntil('the live producer’s records', () => seen.filter((s) => s.startsWith('1:')).length === 3, 5000);
    expect(seen).toEqual(['7:0', '7:1', '7:2', '7:3', '7:4', '1:0', '1:1', '1:2']);
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
    expect(c.stats().skipped).toBe(1);
  }, 20_000);

  it('kill -9 of the consumer while a producer is blocked on a full ring: PEER_GONE, segment removed', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'idle', ringBytes: 8192 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const p = openRing(name, { producerId: 0 });
    closers.push(p);
    const codes: string[] = [];
    p.onError((e) => codes.push(e.code));
    let sent = 0;
    let failure = '';
    const pump = (async () => {
      for (;;) {
        try {
          await p.send(new Uint8Array(1000));
          sent++;
        } catch (e) {
          failure = (e as { code?: string }).code ?? String(e);
          return;
        }
      }
    })();
    await waitUntil('a full ring', () => sent >= 7 && p.stats().fullWaits > 0, 5000);
    const sentBeforeKill = sent;
    expect(failure).toBe(''); // blocked on the full ring, not failed
    consumer.proc.kill('SIGKILL');
    await pump; // the blocked send ends (a hang is caught by the test timeout)
    expect(sent).toBe(sentBeforeKill); // nothing is accepted once the consumer is gone
    expect(failure).toBe('FB_ERR_PEER_GONE');
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
    expect(segmentExists(name)).toBe(false);
    await expect(p.send(new Uint8Array(1))).rejects.toMatchObject({ code: 'FB_ERR_PEER_GONE' });
  }, 20_000);

  it('a producer that died between reserving and sealing leaves a gap that is skipped', async () => {
    const c = createRing({ ringBytes: 4096 });
    closers.push(c);
    const codes: string[] = [];
    c.onError((e) => codes.push(e.code));
    const got: number[] = [];
    c.start((payload, release) => {
      got.push(payload.byteLength);
      release();
    });
    // Play the dead producer by hand: a slot owned by an exited pid, 256 B reserved, never sealed.
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const ab = mapRing(c.name);
    const w = new Int32Array(ab, 0, RING.HEADER_BYTES / 4);
    Atomics.store(w, slotOffset(5, RING.SLOT_PID) / 4, deadPid);
    Atomics.store(w, slotOffset(5, RING.SLOT_STATE) / 4, RING.SLOT_ACTIVE);
    Atomics.add(new BigUint64Array(ab, 0, RING.HEADER_BYTES / 8), IDX.reserve, 256n);
    shmNative().unmap(ab);
    const p = openRing(c.name);
    closers.unshift(p);
    await p.send(new Uint8Array(40));
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    await waitUntil('the gap skipped', () => got.length === 1, 5000);
    expect(got).toEqual([40]);
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
  }, 20_000);

  it('a slot claiming a live pid that never connected (pid 1) is not trusted: its stuck reservation is skipped', async () => {
    const c = createRing({ ringBytes: 4096 });
    closers.push(c);
    const codes: string[] = [];
    c.onError((e) => codes.push(e.message));
    const got: number[] = [];
    c.start((payload, release) => {
      got.push(payload.byteLength);
      release();
    });
    // A hostile producer writes someone else's (live) pid into a slot and never seals its
    // reservation: liveness by kill(pid, 0) would wait for ever; the socket says nobody is there.
    const ab = mapRing(c.name);
    const w = new Int32Array(ab, 0, RING.HEADER_BYTES / 4);
    Atomics.store(w, slotOffset(7, RING.SLOT_PID) / 4, 1);
    Atomics.store(w, slotOffset(7, RING.SLOT_STATE) / 4, RING.SLOT_ACTIVE);
    Atomics.add(new BigUint64Array(ab, 0, RING.HEADER_BYTES / 8), IDX.reserve, 256n);
    shmNative().unmap(ab);
    const p = openRing(c.name);
    closers.unshift(p);
    await p.send(new Uint8Array(40));
    await waitUntil('the gap skipped', () => got.length === 1, 5000);
    expect(got).toEqual([40]);
    expect(codes).toEqual([expect.stringContaining('producer pid 1 (slot 7) is gone')]);
  }, 20_000);

  it('the producer learns of a consumer that closed cleanly', async () => {
    const c = createRing({ ringBytes: 4096 });
    const p = openRing(c.name);
    closers.push(p);
    const codes: string[] = [];
    p.onError((e) => codes.push(e.code));
    c.close();
    await expect(p.send(new Uint8Array(10))).rejects.toMatchObject({ code: 'FB_ERR_PEER_GONE' });
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
    expect(segmentExists(c.name)).toBe(false);
  });
});

describe('shm ring: segment cleanup', () => {
  it('cleanStaleSegments() removes the segment of a consumer killed with -9, and only that', async () => {
    const mine = createRing({ ringBytes: 4096 });
    closers.push(mine);
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'idle', ringBytes: 4096 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    consumer.proc.kill('SIGKILL');
    await consumer.exited;
    expect(segmentExists(name)).toBe(true);
    const removed = cleanStaleSegments();
    expect(removed).toContain(name);
    expect(removed).not.toContain(mine.name);
    expect(removed.filter((n) => n.startsWith('/framebench-cc-'))).toEqual([]);
    expect(segmentExists(name)).toBe(false);
    expect(segmentExists(mine.name)).toBe(true);
  }, 20_000);

  it.each(['SIGTERM', 'SIGINT'] as const)('%s removes the segment and still terminates the process', async (sig) => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'term', ringBytes: 4096 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    expect(segmentExists(name)).toBe(true);
    consumer.proc.kill(sig);
    expect(await consumer.exited).toEqual({ code: null, signal: sig });
    expect(segmentExists(name)).toBe(false);
  }, 20_000);
});
