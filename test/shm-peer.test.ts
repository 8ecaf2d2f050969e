import { afterEach, describe, expect, it } from 'vitest';
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
  it('kill -9 of a producer holding a half-written record: PEER_GONE, its record skipped; the others never waited for it', async () => {
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
    // A live producer in this process: its records are in its own region, never behind the victim's claim.
    const p: RingProducer = openRing(c.name, { producerId: 1 });
    closers.unshift(p);
    for (let seq = 0; seq < 3; seq++) {
      const l = (await p.loan(100))!;
      fillRecord(l.view, 1, seq);
      l.commit();
    }
    await waitUntil('the live producer’s records', () => seen.filter((s) => s.startsWith('1:')).length === 3, 5000);
    expect(codes).toEqual([]); // a stuck producer that is alive is not declared gone (its claim is young)
    victim.proc.kill('SIGKILL');
    await waitUntil('PEER_GONE', () => codes.length > 0, 10_000);
    expect(seen).toEqual(['7:0', '7:1', '7:2', '7:3', '7:4', '1:0', '1:1', '1:2']);
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
    expect(c.stats().skipped).toBe(1);
    expect(c.stats().producers).toBe(1); // the victim's region is unmapped and its index free
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

  it('a producer that died between reserving and sealing: its gap is skipped, PEER_GONE names its pid', async () => {
    const c = createRing({ ringBytes: 4096 });
    closers.push(c);
    const msgs: string[] = [];
    c.onError((e) => msgs.push(`${e.code}: ${e.message}`));
    const got: number[] = [];
    c.start((payload, release) => {
      got.push(payload.byteLength);
      release();
    });
    // Play the dying producer by hand: 256 B reserved in its region, never sealed, then it leaves.
    const h = mapRing(c.name);
    Atomics.add(new BigUint64Array(h.region, 0, 8), IDX.reserve, 256n);
    const p = openRing(c.name);
    closers.unshift(p);
    await p.send(new Uint8Array(40));
    await waitUntil('the honest record', () => got.length === 1, 5000); // not behind the gap
    expect(msgs).toEqual([]);
    shmNative().unmap(h.region);
    shmNative().unmap(h.page);
    shmNative().closeFd(h.sock); // its connection closes: it is gone
    await waitUntil('PEER_GONE', () => msgs.length === 1, 5000);
    expect(msgs[0]).toMatch(new RegExp(`^FB_ERR_PEER_GONE: .*producer #${h.index} \\(id 0, pid ${process.pid}\\) is gone .*unfinished record is skipped`));
    expect(c.stats().skipped).toBe(1);
    await p.send(new Uint8Array(41));
    await waitUntil('the next honest record', () => got.length === 2, 5000);
    expect(got).toEqual([40, 41]);
  }, 20_000);

  it('a live producer in another process that claims and never commits is cut off after the claim timeout; the others flow meanwhile', async () => {
    const c = createRing({ ringBytes: 64 * 1024, claimTimeoutMs: 400 });
    closers.push(c);
    const msgs: string[] = [];
    c.onError((e) => msgs.push(`${e.code}: ${e.message}`));
    let honest = 0;
    c.start((_payload, release) => {
      honest++;
      release();
    });
    const claimer = spawnFixture('flooder.js', [c.name, '3000', 'claim']);
    const started = (await claimer.next('started')) as { index: number };
    await claimer.next('done');
    const p = openRing(c.name, { producerId: 3 });
    closers.unshift(p);
    for (let i = 0; i < 20; i++) await p.send(new Uint8Array(100));
    await waitUntil('the honest records', () => honest === 20, 5000); // never behind the claim
    await waitUntil('the cut', () => msgs.length > 0, 5000);
    expect(msgs).toEqual([
      expect.stringMatching(new RegExp(`^FB_ERR_RING_CORRUPT: .*producer #${started.index} \\(id 0, pid ${claimer.proc.pid}\\) cut off: a record claimed at 0 was not committed within 400 ms`)),
    ]);
    expect(c.stats().cutOff).toBe(1);
    expect(c.stats().producers).toBe(1);
    for (let i = 0; i < 5; i++) await p.send(new Uint8Array(100));
    await waitUntil('more honest records', () => honest === 25, 5000);
    expect((await claimer.exited).code).toBe(0);
  }, 20_000);

  it('a connection that never asks for a region costs none and is closed after 5 s', () => {
    const c = createRing({ ringBytes: 64 * 1024 });
    closers.push(c);
    const t0 = Date.now();
    let code = 'no error';
    try {
      shmNative().fetchFd(c.name, 9000, false, false); // connects, never asks
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    expect(code).toBe('EBUSY'); // the server closed it: no descriptor
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(c.stats().producers).toBe(0);
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
