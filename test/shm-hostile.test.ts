import { afterEach, describe, expect, it } from 'vitest';
import { killAll, segmentExists, spawnFixture } from './fixtures-shm/kit';

/**
 * A hostile writer scribbles random bytes over the ring header, the producer slots, record
 * headers and payloads while a consumer process consumes and producers produce. The consumer
 * must end either with FB_ERR_RING_CORRUPT or still running; it must never crash (an uncaught
 * RangeError from an unchecked offset would kill it), and nothing may hang or leak a segment.
 */
afterEach(async () => {
  await killAll();
});

const ALLOWED = new Set(['FB_ERR_RING_CORRUPT', 'FB_ERR_PEER_GONE', 'FB_ERR_PROTOCOL']);

describe('shm ring: hostile writer', () => {
  it.each([
    [1, 'all'],
    [2, 'all'],
    [3, 'records'],
    [4, 'records'],
  ])('consumer survives scribbling (seed %i, %s)', async (seed, where) => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 256 * 1024, runMs: 1500 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const producers = [0, 1].map((producer) =>
      spawnFixture('producer.js', [JSON.stringify({ name, producer, count: 1e9, maxLen: 8000, seed: seed * 10 + producer, mode: 'stream' })]),
    );
    await Promise.all(producers.map((p) => p.next('open')));
    const scribbler = spawnFixture('scribbler.js', [name, '1200', String(seed), where]);
    await scribbler.next('started');
    // the consumer may already have found corruption and left (its result is then waiting): a send
    // to a closed channel must not become an uncaught EPIPE
    if (consumer.proc.connected) consumer.proc.send({ type: 'go' }, () => undefined);
    const result = (await consumer.next('result', 20_000)) as { outcome: string; codes: string[]; records: number };
    expect(['alive', 'corrupt']).toContain(result.outcome);
    expect(result.codes.filter((c) => !ALLOWED.has(c))).toEqual([]);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
    // Producers end with an FB_ERR code (receiver gone, or corruption they noticed), never a crash.
    for (const p of producers) {
      const end = (await p.next('error', 10_000)) as { code: string };
      expect(end.code).toMatch(/^FB_ERR_(PEER_GONE|RING_CORRUPT|FRAME_TOO_LARGE)$/);
      expect(await p.exited).toEqual({ code: 0, signal: null });
    }
    expect((await scribbler.exited).signal).toBeNull();
    expect(segmentExists(name)).toBe(false);
  }, 40_000);
});
