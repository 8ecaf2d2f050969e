import { afterEach, describe, expect, it } from 'vitest';
import { killAll, segmentExists, spawnFixture } from './fixtures-shm/kit';
import type { HostileConsumerResult } from '../torture/ring-peers/peer-ipc';

/**
 * Three producer processes into one consumer process; one of them is hostile and scribbles
 * random bytes over the only memory it can write, its own region (header words, record headers,
 * payloads; or well-sealed records with impossible lengths). The consumer must cut that producer
 * off with FB_ERR_RING_CORRUPT naming it (its index and the pid the kernel gives, SO_PEERCRED),
 * keep delivering the two honest producers' records, never crash (an uncaught RangeError from an
 * unchecked offset would kill it), and nothing may hang or leak.
 */
afterEach(async () => {
  await killAll();
});

const ALLOWED = new Set(['FB_ERR_RING_CORRUPT', 'FB_ERR_PEER_GONE', 'FB_ERR_PROTOCOL']);


describe('shm ring: hostile producer among honest ones', () => {
  it.each([
    [1, 'all'],
    [2, 'all'],
    [3, 'records'],
    [4, 'records'],
  ])('the scribbler is cut off, the honest producers keep flowing (seed %i, %s)', async (seed, where) => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 256 * 1024, runMs: 1500 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const producers = [0, 1].map((producer) =>
      spawnFixture('producer.js', [JSON.stringify({ name, producer, count: 1e9, maxLen: 8000, seed: seed * 10 + producer, mode: 'stream' })]),
    );
    await Promise.all(producers.map((p) => p.next('open')));
    const scribbler = spawnFixture('scribbler.js', [name, '1200', String(seed), where]);
    const { index } = (await scribbler.next('started')) as { index: number };
    consumer.proc.send({ type: 'go' });
    const result = (await consumer.next('result', 20_000)) as unknown as HostileConsumerResult;
    expect(result.outcome).toBe('alive');
    expect(result.codes.filter((c) => !ALLOWED.has(c))).toEqual([]);
    expect(result.cutOff).toBe(1);
    const cut = result.messages.filter((m) => m.startsWith('FB_ERR_RING_CORRUPT'));
    expect(cut).toEqual([expect.stringMatching(new RegExp(`producer #${index} \\(id \\d+, pid ${scribbler.proc.pid}\\) cut off`))]);
    // the honest producers: records before the cut and after it
    for (const p of ['0', '1']) expect(result.byProducer[p] ?? 0).toBeGreaterThan(result.atFirstCut?.[p] ?? Infinity);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
    // Honest producers end with FB_ERR_PEER_GONE (the receiver closed), never a crash.
    for (const p of producers) {
      const end = (await p.next('error', 10_000)) as { code: string };
      expect(end.code).toBe('FB_ERR_PEER_GONE');
      expect(await p.exited).toEqual({ code: 0, signal: null });
    }
    expect((await scribbler.exited).signal).toBeNull();
    expect(segmentExists(name)).toBe(false);
  }, 40_000);
});
