import { afterEach, describe, expect, it } from 'vitest';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { shmNative } from '../transports/shm/native';
import { killAll, segmentExists, spawnFixture } from './fixtures-shm/kit';
import type { HostileConsumerResult } from '../torture/ring-peers/peer-ipc';

/**
 * Bounded work per event-loop turn. A producer that writes only pads into its region (as fast as
 * the consumer frees space) must not keep the consumer's event loop from turning: its timers run
 * (the longest stall stays under a second), it yields (stats.yields), and SIGTERM still cleans up
 * and ends it. A live producer that claims its whole region and never commits is cut off after the
 * claim timeout, and the honest producer beside it never waits for it.
 */
afterEach(async () => {
  await killAll();
});


describe('shm ring: bounded work per turn', () => {
  it('a pad flood: the event loop keeps turning, the consumer stays alive', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 64 * 1024, runMs: 2000 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const flood = spawnFixture('flooder.js', [name, '2500', 'pads']);
    await flood.next('started');
    consumer.proc.send({ type: 'go' });
    const r = (await consumer.next('result', 20_000)) as unknown as HostileConsumerResult;
    const done = (await flood.next('done', 20_000)) as { pads: number };
    expect(r.outcome).toBe('alive');
    expect(r.codes).toEqual([]);
    expect(done.pads).toBeGreaterThan(1000);
    expect(r.pads).toBeGreaterThan(1000);
    expect(r.yields).toBeGreaterThan(0);
    expect(r.maxStallMs).toBeLessThan(1000);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
    expect(segmentExists(name)).toBe(false);
  }, 40_000);

  it('SIGTERM during a pad flood still removes the socket and ends the consumer', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 64 * 1024, runMs: 60_000 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const flood = spawnFixture('flooder.js', [name, '4000', 'pads']);
    await flood.next('started');
    await new Promise((r) => setTimeout(r, 800));
    consumer.proc.kill('SIGTERM');
    const t0 = Date.now();
    expect(await consumer.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(segmentExists(name)).toBe(false);
    await flood.exited;
  }, 40_000);

  it('a live producer claiming its whole region and never committing: cut off after the claim timeout, the honest one flows', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 32 * 1024 * 1024, runMs: 2500, claimTimeoutMs: 600 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const honest = spawnFixture('producer.js', [JSON.stringify({ name, producer: 5, count: 1e9, maxLen: 8000, seed: 9, mode: 'stream' })]);
    await honest.next('open');
    const claimer = spawnFixture('flooder.js', [name, '4000', 'claim']);
    const started = (await claimer.next('started')) as { index: number };
    consumer.proc.send({ type: 'go' });
    const r = (await consumer.next('result', 20_000)) as unknown as HostileConsumerResult;
    expect(r.outcome).toBe('alive');
    expect(r.codes).toEqual(['FB_ERR_RING_CORRUPT']);
    expect(r.cutOff).toBe(1);
    expect(r.messages[0]).toMatch(new RegExp(`producer #${started.index} \\(id 0, pid ${claimer.proc.pid}\\) cut off: a record claimed at 0 was not committed within 600 ms`));
    expect(r.atFirstCut?.['5']).toBeGreaterThan(0); // the honest producer delivered before the cut
    expect(r.byProducer['5']).toBeGreaterThan(r.atFirstCut?.['5'] ?? Infinity); // and after it
    expect(r.maxStallMs).toBeLessThan(1000);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
    expect((await claimer.exited).code).toBe(0);
  }, 40_000);

  it('a hostile producer under another uid (nobody), holding only the inherited descriptors: cannot resize them, cannot write the page, cannot stall the consumer', async () => {
    expect(process.getuid?.()).toBe(0); // the suite runs as root here, so it can drop privileges for the child
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 64 * 1024, runMs: 2000 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const { fds, sock } = shmNative().fetchFd(name, 5000, true);
    const script = path.join(__dirname, '..', 'dist', 'torture', 'ring-peers', 'flooder.js');
    const child = fork(script, ['fd:4,5,6', '2500', 'pads'], { uid: 65534, gid: 65534, stdio: ['ignore', 'inherit', 'inherit', 'ipc', fds[0], fds[1], sock] });
    for (const f of [...fds, sock]) shmNative().closeFd(f);
    const msgs: Record<string, unknown>[] = [];
    child.on('message', (m) => msgs.push(m as Record<string, unknown>));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 20_000;
    while (!msgs.some((m) => m.type === 'started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const started = msgs.find((m) => m.type === 'started') as { uid: number; truncate: string[]; pageWrite: string[]; pageProtect: string };
    expect(started).toMatchObject({ uid: 65534, truncate: ['EPERM', 'EPERM', 'EPERM', 'EPERM'] });
    expect(started.pageWrite[0]).toBe('EPERM'); // PROT_WRITE through the inherited (read-write) page descriptor
    expect(started.pageWrite.slice(1).every((c) => c === 'EPERM' || c === 'EACCES')).toBe(true); // reopening it: not even allowed to open
    expect(started.pageProtect).toBe('EACCES'); // nor can its read-only mapping be made writable
    consumer.proc.send({ type: 'go' });
    const r = (await consumer.next('result', 20_000)) as unknown as HostileConsumerResult;
    expect(r.outcome).toBe('alive');
    expect(r.pads).toBeGreaterThan(0);
    expect(r.maxStallMs).toBeLessThan(1000);
    expect(await exited).toBe(0);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
  }, 40_000);
});
