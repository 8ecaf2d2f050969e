import { afterEach, describe, expect, it } from 'vitest';
import { createRing, type RingConsumer } from '../transports/shm/ring';
import { checkRecord } from '../torture/ring-peers/records';
import { killAll, segmentExists, spawnFixture, waitUntil } from './fixtures-shm/kit';

/**
 * Two-process fuzz with an exact invariant: producer processes send thousands of random-size
 * records (half loan/commit, half send) into a small ring (so it wraps and fills constantly);
 * the consumer must see every sequence number of every producer exactly once, in order, with a
 * correct checksum, and no error.
 */
let ring: RingConsumer | null = null;
afterEach(async () => {
  await killAll();
  ring?.close();
  ring = null;
});

async function fuzz(opts: { producers: number; count: number; ringBytes: number; maxLen: number; spin?: number; holdEvery?: number }): Promise<void> {
  const c = (ring = createRing({ ringBytes: opts.ringBytes, spin: opts.spin }));
  const errors: string[] = [];
  c.onError((e) => errors.push(`${e.code}: ${e.message}`));
  const next = new Array(opts.producers).fill(0);
  const bad: string[] = [];
  const held: (() => void)[] = [];
  let got = 0;
  c.start((payload, release) => {
    const r = checkRecord(payload);
    if (typeof r === 'string') bad.push(r);
    else if (r.producer >= opts.producers) bad.push(`unknown producer ${r.producer}`);
    else if (r.seq !== next[r.producer]) bad.push(`p${r.producer}: #${r.seq} where #${next[r.producer]} was due`);
    else next[r.producer]++;
    got++;
    // Sometimes hold a view for a moment: the records after it are released first (out of order).
    if (opts.holdEvery && got % opts.holdEvery === 0) {
      held.push(release);
      if (held.length === 1) setTimeout(() => held.splice(0).reverse().forEach((f) => f()), 2);
    } else release();
  });
  const kids = Array.from({ length: opts.producers }, (_, producer) =>
    spawnFixture('producer.js', [JSON.stringify({ name: c.name, producer, count: opts.count, maxLen: opts.maxLen, seed: 1000 + producer * 7, spin: opts.spin })]),
  );
  const done = await Promise.all(kids.map((k) => k.next('done', 60_000)));
  expect(done.map((d) => d.sent)).toEqual(new Array(opts.producers).fill(opts.count));
  await waitUntil('every record', () => got >= opts.producers * opts.count || bad.length > 0, 20_000);
  held.splice(0).forEach((f) => f());
  expect(bad.slice(0, 5)).toEqual([]);
  expect(next).toEqual(new Array(opts.producers).fill(opts.count));
  expect(got).toBe(opts.producers * opts.count);
  expect(errors).toEqual([]);
  const exits = await Promise.all(kids.map((k) => k.exited));
  expect(exits).toEqual(kids.map(() => ({ code: 0, signal: null })));
  const s = c.stats();
  expect(s.records).toBe(opts.producers * opts.count);
  c.close();
  expect(segmentExists(c.name)).toBe(false);
}

describe('shm ring: two-process fuzz', () => {
  it('3 producer processes x 3000 random-size records through a 64 KiB ring', async () => {
    await fuzz({ producers: 3, count: 3000, ringBytes: 64 * 1024, maxLen: 4096, holdEvery: 97 });
  }, 90_000);

  it('2 producers, tiny ring (records up to half of it), bounded spin', async () => {
    await fuzz({ producers: 2, count: 2000, ringBytes: 4096, maxLen: 2000, spin: 50 });
  }, 90_000);
});
