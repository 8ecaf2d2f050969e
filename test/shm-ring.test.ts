import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { createRing, openRing, RING, recordSpan, type RingConsumer, type RingProducer } from '../transports/shm/ring';
import { shmNative } from '../transports/shm/native';
import { IDX, mapRing } from '../transports/shm/segment';
import { sealOf } from '../transports/shm/layout';
import { checkRecord, fillRecord } from '../torture/ring-peers/records';

/** In-process ring tests (pull mode unless stated): layout edge cases, policies, validation. */
const open: { close(): void }[] = [];
function ring(ringBytes: number, opts: { maxRecordBytes?: number; claimTimeoutMs?: number } = {}): RingConsumer {
  const c = createRing({ ringBytes, ...opts });
  open.push(c);
  return c;
}
function producer(c: RingConsumer, opts: Parameters<typeof openRing>[1] = {}): RingProducer {
  const p = openRing(c.name, opts);
  open.unshift(p);
  return p;
}
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'no error';
}
afterEach(() => {
  for (const x of open.splice(0)) x.close();
});

function pattern(len: number, salt: number): Uint8Array {
  const u = new Uint8Array(len);
  for (let i = 0; i < len; i++) u[i] = (i * 31 + salt * 7 + 1) & 0xff;
  return u;
}

/** Puts the producer's reserve cursor at data offset `at` of its region with one record (the region must be empty). */
function moveTo(c: RingConsumer, p: RingProducer, at: number): void {
  const seg = (p as unknown as { seg: { region: { u64: BigUint64Array } } }).seg.region;
  for (;;) {
    const cur = Number(seg.u64[IDX.reserve]) % c.capacity;
    if (cur === at) return;
    const span = at > cur ? at - cur : c.capacity - cur; // never crosses the end: no pad
    const l = p.tryLoan(span - RING.RECORD_HEADER_BYTES);
    expect(l).not.toBeNull();
    l!.commit();
    const r = c.tryReceive();
    expect(r?.payload.byteLength).toBe(span - RING.RECORD_HEADER_BYTES);
    r!.release();
    expect(c.tryReceive()).toBeNull();
  }
}

describe('shm ring (in process)', () => {
  it('wraps at every alignment: every size lands contiguous and intact', () => {
    const cap = 1024;
    const c = ring(cap);
    const p = producer(c);
    const sizes = [0, 1, 15, 31, 32, 33, 63, 64, 100, 255, 480, 481, 511, 512, 700, cap - 64, cap - 33, cap - 32];
    let salt = 0;
    for (let at = 0; at < cap; at += RING.RECORD_ALIGN) {
      for (const len of sizes) {
        moveTo(c, p, at);
        const want = pattern(len, ++salt);
        const l = p.tryLoan(len) ?? (c.tryReceive(), p.tryLoan(len)); // a padded tail is consumed first
        expect(l, `at ${at} len ${len}`).not.toBeNull();
        l!.view.set(want);
        l!.commit();
        const r = c.tryReceive();
        expect(r, `at ${at} len ${len}`).not.toBeNull();
        const off = r!.payload.byteOffset;
        expect(off + len).toBeLessThanOrEqual(RING.HEADER_BYTES + cap);
        expect(off).toBeGreaterThanOrEqual(RING.HEADER_BYTES + RING.RECORD_HEADER_BYTES);
        expect((off - RING.HEADER_BYTES) % RING.RECORD_ALIGN).toBe(0);
        expect(Buffer.from(r!.payload).equals(Buffer.from(want)), `at ${at} len ${len}`).toBe(true);
        r!.release();
      }
    }
    expect(c.stats().records).toBeGreaterThan(0);
  });

  it('a record exactly filling the ring, at offset 0 and after a padded tail', () => {
    const cap = 1024;
    const c = ring(cap);
    const p = producer(c);
    const full = cap - RING.RECORD_HEADER_BYTES;
    for (let i = 0; i < 3; i++) {
      const l = p.tryLoan(full)!;
      l.view.set(pattern(full, i));
      l.commit();
      expect(p.tryLoan(0)).toBeNull(); // no room for even a header
      const r = c.tryReceive()!;
      expect(Buffer.from(r.payload).equals(Buffer.from(pattern(full, i)))).toBe(true);
      r.release();
    }
    moveTo(c, p, 32);
    expect(p.tryLoan(full)).toBeNull(); // tail padded, the pad still occupies the ring
    expect(c.tryReceive()).toBeNull(); // consumes the pad
    const l = p.tryLoan(full)!;
    l.commit();
    expect(c.tryReceive()!.payload.byteLength).toBe(full);
  });

  it('two half-ring records fill it; the next waits for a release', () => {
    const c = ring(1024);
    const p = producer(c);
    const half = 512 - RING.RECORD_HEADER_BYTES;
    p.tryLoan(half)!.commit();
    p.tryLoan(half)!.commit();
    expect(p.tryLoan(0)).toBeNull();
    c.tryReceive()!.release();
    expect(p.tryLoan(half)).not.toBeNull();
  });

  it('a record larger than the ring or the consumer limit: FB_ERR_FRAME_TOO_LARGE', async () => {
    const c = ring(1024, { maxRecordBytes: 600 });
    const p = producer(c);
    expect(code(() => p.tryLoan(601))).toBe('FB_ERR_FRAME_TOO_LARGE');
    await expect(p.loan(5000)).rejects.toMatchObject({ code: 'FB_ERR_FRAME_TOO_LARGE' });
    await expect(p.send(new Uint8Array(1024))).rejects.toMatchObject({ code: 'FB_ERR_FRAME_TOO_LARGE' });
    const big = ring(1024);
    const q = producer(big);
    expect(code(() => q.tryLoan(1024 - 31))).toBe('FB_ERR_FRAME_TOO_LARGE');
    expect(q.tryLoan(1024 - 32)).not.toBeNull();
    expect(code(() => createRing({ ringBytes: 1000 }))).toBe('FB_ERR_BAD_NUMBER');
  });

  it('zero-length records are delivered as empty views', async () => {
    const c = ring(256);
    const p = producer(c);
    for (let i = 0; i < 20; i++) {
      expect(await p.send(new Uint8Array(0))).toBe(true);
      const r = c.tryReceive()!;
      expect(r.payload.byteLength).toBe(0);
      r.release();
    }
  });

  it('releases in any order; the space frees once the prefix is released', () => {
    const c = ring(1024);
    const p = producer(c);
    for (let i = 0; i < 3; i++) p.tryLoan(250)!.commit(); // 3 x 288 B of 1024
    const [a, b, d] = [c.tryReceive()!, c.tryReceive()!, c.tryReceive()!];
    expect(p.tryLoan(250)).toBeNull();
    d.release();
    b.release();
    expect(p.tryLoan(250)).toBeNull();
    a.release();
    a.release(); // idempotent
    expect(p.tryLoan(250)).not.toBeNull();
  });

  it('an uncommitted reservation blocks only its own producer\'s later records; other producers flow', () => {
    const c = ring(4096);
    const p1 = producer(c);
    const p2 = producer(c);
    const first = p1.tryLoan(10)!;
    p1.tryLoan(11)!.commit();
    p2.tryLoan(12)!.commit();
    expect(c.tryReceive()!.payload.byteLength).toBe(12); // p2's own region: not behind p1's claim
    expect(c.tryReceive()).toBeNull();
    first.commit();
    expect(c.tryReceive()!.payload.byteLength).toBe(10);
    expect(c.tryReceive()!.payload.byteLength).toBe(11);
    const aborted = p1.tryLoan(20)!;
    p1.tryLoan(30)!.commit();
    aborted.abort();
    expect(c.tryReceive()!.payload.byteLength).toBe(30);
  });

  it('a producer that closes: every record it committed is still delivered, then its region is retired quietly', async () => {
    const c = ring(4096);
    const codes: string[] = [];
    c.onError((e) => codes.push(e.code));
    expect(c.tryReceive()).toBeNull(); // the watchdog's first look (pull mode)
    const p = openRing(c.name);
    for (let i = 0; i < 3; i++) await p.send(new Uint8Array(20 + i));
    p.close();
    await new Promise((r) => setTimeout(r, 250)); // the next tryReceive runs the watchdog first
    const got: number[] = [];
    for (let r = c.tryReceive(); r; r = c.tryReceive()) {
      got.push(r.payload.byteLength);
      r.release();
    }
    expect(got).toEqual([20, 21, 22]);
    expect(c.tryReceive()).toBeNull();
    expect(codes).toEqual([]);
    expect(c.stats().producers).toBe(0);
  });

  it('close() aborts every loan still open, whatever order they were opened and sealed in; what was committed is delivered', async () => {
    const c = ring(4096);
    expect(c.tryReceive()).toBeNull();
    const p = openRing(c.name);
    const [a, b, d, e] = [10, 11, 12, 13].map((n) => p.tryLoan(n)!);
    d.commit(); // from the middle of the open list
    b.commit(); // then its new neighbour
    p.close(); // a and e still open: both padded, so the committed records between them are readable
    expect(() => a.commit()).toThrow();
    e.abort(); // already sealed by close: nothing happens
    await new Promise((r) => setTimeout(r, 250));
    const got: number[] = [];
    for (let r = c.tryReceive(); r; r = c.tryReceive()) {
      got.push(r.payload.byteLength);
      r.release();
    }
    expect(got).toEqual([11, 12]);
    expect(c.stats().producers).toBe(0);
  });

  it('every producer writes its own region: no two producers share a byte of it', () => {
    const c = ring(4096);
    const ps = [producer(c), producer(c), producer(c)];
    const regions = ps.map((p) => (p as unknown as { seg: { region: { ab: ArrayBuffer } } }).seg.region.ab);
    expect(new Set(regions).size).toBe(3);
    expect(new Set(ps.map((p) => p.stats().index)).size).toBe(3);
    const loans = ps.map((p, i) => {
      const l = p.tryLoan(100)!;
      l.view.fill(i + 1);
      l.commit();
      return l;
    });
    for (const l of loans) for (const m of loans) if (l !== m) expect(l.view.buffer).not.toBe(m.view.buffer);
    const got = [c.tryReceive()!, c.tryReceive()!, c.tryReceive()!].map((r) => r.payload[0]).sort();
    expect(got).toEqual([1, 2, 3]);
  });

  it('drop policy: a full ring drops (null / false), counted; space comes back after release', async () => {
    const c = ring(1024);
    const p = producer(c, { policy: 'drop' });
    let accepted = 0;
    for (let i = 0; i < 10; i++) if (await p.send(new Uint8Array(200))) accepted++;
    expect(accepted).toBe(4); // 4 x 256 B fill 1024
    expect(await p.loan(10)).toBeNull();
    expect(p.stats().drops).toBe(7);
    expect(c.stats().drops).toBe(7);
    c.tryReceive()!.release();
    expect(await p.send(new Uint8Array(200))).toBe(true);
  });

  it('block policy: loan() waits for the consumer, in call order per producer', async () => {
    const c = ring(1024);
    const p = producer(c);
    const got: number[] = [];
    const order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const sends = order.map((i) => p.send(new Uint8Array(300).fill(i)));
    await new Promise((r) => setTimeout(r, 20));
    c.start((payload, release) => {
      got.push(payload[0]);
      setTimeout(release, 1); // hold each view briefly: producers must wait for the release
    });
    expect(await Promise.all(sends)).toEqual(order.map(() => true));
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toEqual(order);
    expect(p.stats().fullWaits).toBeGreaterThan(0);
  });

  it('many producers (worker threads, each with its own region) into one consumer: all records exactly once, intact', async () => {
    const c = ring(16 * 1024);
    const workers = 4;
    const count = 1500;
    const next = new Array(workers).fill(0);
    const bad: string[] = [];
    let got = 0;
    c.start((payload, release) => {
      const r = checkRecord(payload);
      if (typeof r === 'string') bad.push(r);
      else if (r.seq !== next[r.producer]++) bad.push(`p${r.producer}: #${r.seq} where #${next[r.producer] - 1} was due`);
      got++;
      release();
    });
    const script = path.join(__dirname, 'fixtures-shm', 'ring-worker.js');
    const done = await Promise.all(
      Array.from({ length: workers }, (_, producer) =>
        new Promise<{ sent: number; code?: string }>((resolve, reject) => {
          const w = new Worker(script, { workerData: { name: c.name, producer, count, maxLen: 700 } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
      ),
    );
    expect(done.map((d) => d.code ?? d.sent)).toEqual(new Array(workers).fill(count));
    const deadline = Date.now() + 10_000;
    while (got < workers * count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(bad.slice(0, 5)).toEqual([]);
    expect(next).toEqual(new Array(workers).fill(count));
  }, 30_000);
});

describe('shm ring: a hostile producer is cut off, the others keep flowing', () => {
  /** A producer that writes its region by hand (what a hostile one gets: its region, the page read-only). */
  function hostile(name: string): { u64: BigUint64Array; dv: DataView; index: number; close(): void } {
    const h = mapRing(name);
    return {
      u64: new BigUint64Array(h.region),
      dv: new DataView(h.region),
      index: h.index,
      close: () => {
        shmNative().unmap(h.region);
        shmNative().unmap(h.page);
        shmNative().closeFd(h.sock);
      },
    };
  }

  /** An honest producer's record goes through (after the hostile one was cut off). */
  async function honestFlows(c: RingConsumer): Promise<void> {
    const p = producer(c);
    await p.send(new Uint8Array(77).fill(5));
    const r = c.tryReceive()!;
    expect(r.payload.byteLength).toBe(77);
    r.release();
  }

  it('an impossible reserve cursor: that producer is cut off (FB_ERR_RING_CORRUPT naming it)', async () => {
    const c = ring(1024);
    const msgs: string[] = [];
    c.onError((e) => msgs.push(`${e.code}: ${e.message}`));
    const h = hostile(c.name);
    h.u64[IDX.reserve] = 0xffffffffffff0000n;
    expect(c.tryReceive()).toBeNull();
    expect(msgs).toEqual([expect.stringMatching(new RegExp(`^FB_ERR_RING_CORRUPT: .*producer #${h.index} \\(id 0, pid ${process.pid}\\) cut off: reserve cursor`))]);
    expect(c.stats().cutOff).toBe(1);
    await honestFlows(c);
    h.close();
  });

  it('a sealed record whose length runs past the end: cut off', async () => {
    const c = ring(1024);
    const codes: string[] = [];
    c.onError((e) => codes.push(e.code));
    const h = hostile(c.name);
    h.dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, 5000, true);
    h.u64[RING.HEADER_BYTES / 8] = sealOf(0, RING.REC_COMMITTED);
    h.u64[IDX.reserve] = 64n;
    expect(c.tryReceive()).toBeNull();
    expect(codes).toEqual(['FB_ERR_RING_CORRUPT']);
    await honestFlows(c);
    h.close();
  });

  it('a record above maxRecordBytes is skipped with FB_ERR_PROTOCOL, the next one delivered', () => {
    const c = ring(1024, { maxRecordBytes: 100 });
    const codes: string[] = [];
    c.onError((e) => codes.push(e.code));
    const h = hostile(c.name); // the producer class refuses it; a hostile one writes it anyway
    h.dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, 200, true);
    h.u64[RING.HEADER_BYTES / 8] = sealOf(0, RING.REC_COMMITTED);
    h.dv.setUint32(RING.HEADER_BYTES + 256 + RING.REC_LENGTH, 60, true);
    h.u64[(RING.HEADER_BYTES + 256) / 8] = sealOf(256, RING.REC_COMMITTED);
    h.u64[IDX.reserve] = 256n + 96n;
    expect(c.tryReceive()!.payload.byteLength).toBe(60);
    expect(codes).toEqual(['FB_ERR_PROTOCOL']);
    h.close();
  });

  it('a live producer\'s claim never committed: cut off after claimTimeoutMs; the others are not held up meanwhile', async () => {
    const c = ring(4096, { claimTimeoutMs: 150 });
    const msgs: string[] = [];
    c.onError((e) => msgs.push(`${e.code}: ${e.message}`));
    const stuck = producer(c, { producerId: 42 });
    const stuckErrors: string[] = [];
    stuck.onError((e) => stuckErrors.push(e.code));
    stuck.tryLoan(100); // claimed, never committed
    const p = producer(c);
    for (let i = 0; i < 3; i++) {
      await p.send(new Uint8Array(10 + i));
      expect(c.tryReceive()!.payload.byteLength).toBe(10 + i); // not behind the claim
    }
    expect(msgs).toEqual([]);
    await new Promise((r) => setTimeout(r, 450));
    expect(c.tryReceive()).toBeNull(); // the watchdog runs here in pull mode
    expect(msgs).toEqual([expect.stringMatching(/^FB_ERR_RING_CORRUPT: .*producer #\d+ \(id 42, pid \d+\) cut off: a record claimed at 0 was not committed within 150 ms/)]);
    expect(code(() => stuck.tryLoan(10))).toBe('FB_ERR_RING_CORRUPT'); // it learns it was cut off
    expect(stuckErrors).toEqual(['FB_ERR_RING_CORRUPT']);
    await p.send(new Uint8Array(33));
    expect(c.tryReceive()!.payload.byteLength).toBe(33);
  });

  it('after close, views held by the handler read as empty instead of faulting', () => {
    const c = ring(1024);
    const p = producer(c);
    const l = p.tryLoan(100)!;
    fillRecord(l.view, 1, 1);
    l.commit();
    const r = c.tryReceive()!;
    expect(typeof checkRecord(r.payload)).toBe('object');
    c.close();
    expect(r.payload.byteLength).toBe(0);
    r.release();
    expect(recordSpan(100)).toBe(160);
  });
});

describe('shm ring: copyOut', () => {
  it('delivers a private copy and frees the ring space at once: later producer writes do not reach it', () => {
    const c = createRing({ ringBytes: 4096, copyOut: true });
    open.push(c);
    const p = producer(c);
    const l = p.tryLoan(100)!;
    l.view.set(pattern(100, 3));
    l.commit();
    const r = c.tryReceive()!;
    expect(r.payload.buffer).not.toBe(l.view.buffer);
    expect(c.stats().held).toBe(0); // the ring record is released already
    // the producer rewrites the (released) bytes of its record: the consumer's copy is unchanged
    l.view.fill(0xee);
    expect(Buffer.from(r.payload).equals(Buffer.from(pattern(100, 3)))).toBe(true);
    r.release();
    r.release(); // idempotent
    // the pooled buffer is reused for the next record, with that record's bytes
    p.tryLoan(50)!.commit();
    const r2 = c.tryReceive()!;
    expect(r2.payload.byteLength).toBe(50);
    expect(r2.payload.buffer).toBe(r.payload.buffer);
    r2.release();
  });

  it('without copyOut the view is in shared memory (what a producer can still change)', () => {
    const c = ring(4096);
    const p = producer(c);
    const l = p.tryLoan(100)!;
    l.view.set(pattern(100, 3));
    l.commit();
    const r = c.tryReceive()!;
    l.view.fill(0xee); // a hostile producer writing after commit
    expect(r.payload[0]).toBe(0xee);
    r.release();
  });
});
