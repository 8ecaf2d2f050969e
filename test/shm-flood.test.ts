import { afterEach, describe, expect, it } from 'vitest';
import { fork, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { shmNative } from '../transports/shm/native';
import { killAll, segmentExists, spawnFixture } from './fixtures-shm/kit';

/**
 * Bounded work per event-loop turn. A producer that writes only pads (as fast as the consumer
 * frees space) or leaves a dead-looking reservation across the whole ring must not keep the
 * consumer's event loop from turning: its timers run (the longest stall stays under a second),
 * it yields (stats.yields), and SIGTERM still cleans up and ends it.
 */
afterEach(async () => {
  await killAll();
});

interface Result {
  outcome: string;
  codes: string[];
  records: number;
  maxStallMs: number;
  yields: number;
  pads: number;
  skipped: number;
}

describe('shm ring: bounded work per turn', () => {
  it('a pad flood: the event loop keeps turning, the consumer stays alive', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 64 * 1024, runMs: 2000 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const flood = spawnFixture('flooder.js', [name, '2500', 'pads']);
    await flood.next('started');
    consumer.proc.send({ type: 'go' });
    const r = (await consumer.next('result', 20_000)) as unknown as Result;
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

  it('a dead-looking reservation across the whole ring: the gap walk is spread over turns', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 32 * 1024 * 1024, runMs: 3500 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const gap = spawnFixture('flooder.js', [name, '2000', 'gap', String(deadPid)]);
    await gap.next('done', 20_000);
    consumer.proc.send({ type: 'go' });
    const r = (await consumer.next('result', 20_000)) as unknown as Result;
    expect(r.outcome).toBe('alive');
    expect(r.codes).toEqual(['FB_ERR_PEER_GONE']); // the slot's (fake) owner is dead
    expect(r.skipped).toBeGreaterThanOrEqual(1);
    expect(r.yields).toBeGreaterThan(0); // 1M positions: more than one turn's budget
    expect(r.maxStallMs).toBeLessThan(1000);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
  }, 40_000);

  it('a hostile producer under another uid (nobody), holding only the inherited descriptor: cannot resize it, cannot stall the consumer', async () => {
    expect(process.getuid?.()).toBe(0); // the suite runs as root here, so it can drop privileges for the child
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 64 * 1024, runMs: 2000 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const { fd } = shmNative().fetchFd(name, 5000);
    const script = path.join(__dirname, '..', 'dist', 'torture', 'ring-peers', 'flooder.js');
    const child = fork(script, ['fd:4', '2500', 'pads'], { uid: 65534, gid: 65534, stdio: ['ignore', 'inherit', 'inherit', 'ipc', fd] });
    shmNative().closeFd(fd);
    const msgs: Record<string, unknown>[] = [];
    child.on('message', (m) => msgs.push(m as Record<string, unknown>));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 20_000;
    while (!msgs.some((m) => m.type === 'started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const started = msgs.find((m) => m.type === 'started') as { uid: number; truncate: string[] };
    expect(started).toMatchObject({ uid: 65534, truncate: ['EPERM', 'EPERM'] });
    consumer.proc.send({ type: 'go' });
    const r = (await consumer.next('result', 20_000)) as unknown as Result;
    expect(r.outcome).toBe('alive');
    expect(r.pads).toBeGreaterThan(0);
    expect(r.maxStallMs).toBeLessThan(1000);
    expect(await exited).toBe(0);
    expect(await consumer.exited).toEqual({ code: 0, signal: null });
  }, 40_000);
});
