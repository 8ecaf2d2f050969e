import { afterEach, describe, expect, it } from 'vitest';
import { openRing } from '../transports/shm/ring';
import { killAll, segmentExists, spawnFixture } from './fixtures-shm/kit';

/**
 * Found by `bench torture`: kill -9 of the consumer, then the coordinator closes the producer
 * at once (before its watchdog looks at the consumer's pid): the segment stayed in /dev/shm.
 * close() now removes the name when the consumer that created it is dead.
 */
afterEach(async () => {
  await killAll();
});

describe('shm producer close() after the consumer was killed', () => {
  it('removes the orphaned segment', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'idle', ringBytes: 8192 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const p = openRing(name, { producerId: 0 });
    p.onError(() => undefined);
    consumer.proc.kill('SIGKILL');
    await consumer.exited;
    expect(segmentExists(name)).toBe(true);
    p.close();
    expect(segmentExists(name)).toBe(false);
  }, 20_000);
});
