import { afterEach, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { shmNativeUnavailableReason } from '../transports/shm/native';
import { createRing, openRing, type RingConsumer, type RingProducer } from '../transports/shm/ring';
import { shmTransport } from '../transports/shm/transport';
import { killAll, spawnFixture, waitUntil } from './fixtures-shm/kit';
import { sampleJsThread } from './support/js-thread-probe';
import { requireOrSkip } from './support/require';
import { nowNs } from '../core/clock';
import { decode } from '../core/histogram';

/**
 * Waiting that never blocks the JS thread: each ring end's futex waits are done by a native
 * waiter thread (native/src/waiter.cc), which wakes the event loop with one coalesced call. The
 * JS thread is sampled from a worker (which system call it is in: /proc/<pid>/task/<tid>/syscall);
 * before the waiter it sat in futex_waitv (consumer, up to 50 ms at a time) or futex (a producer on
 * a full ring, up to 10 ms) nearly all the time it waited.
 */
const skip = requireOrSkip('shm', shmNativeUnavailableReason());

const closers: { close(): void }[] = [];
afterEach(async () => {
  await killAll();
  for (const c of closers.splice(0)) c.close();
});

/** Records [u32 producer][u32 seq], in delivery order. */
function collector(c: RingConsumer): { seqs: number[]; producers: Set<number> } {
  const out = { seqs: [] as number[], producers: new Set<number>() };
  c.start((payload, release) => {
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    out.producers.add(dv.getUint32(0, true));
    out.seqs.push(dv.getUint32(4, true));
    release();
  });
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe.skipIf(skip)('shm waiter thread: the JS thread never blocks in a wait', () => {
  describe.each(['eventfd', 'thread'] as const)('consumer, wake: %s', (wake) => {
    /** A consumer with a producer of another process attached that sends nothing (yet). */
    async function idleWithPeer(): Promise<RingConsumer> {
      const c = createRing({ ringBytes: 64 * 1024, wake });
      closers.push(c);
      collector(c);
      const peer = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'burst', name: c.name, count: 1 })]);
      await peer.next('open');
      await waitUntil('the producer attached', () => c.stats().producers === 1);
      return c;
    }

    /** A consumer with a paced producer of another process attached: `count` records, `everyMs` apart. */
    async function withPacedPeer(count: number, everyMs: number): Promise<{ c: RingConsumer; got: ReturnType<typeof collector>; peer: ReturnType<typeof spawnFixture> }> {
      const c = createRing({ ringBytes: 64 * 1024, wake });
      closers.push(c);
      const got = collector(c);
      const peer = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'paced', name: c.name, count, everyMs })]);
      await peer.next('open');
      await waitUntil('the producer attached', () => c.stats().producers === 1);
      return { c, got, peer };
    }

    it('consumer: idle with a producer of another process attached, and while paced frames flow, its JS thread is never asleep in a futex', async () => {
      const { c, got, peer } = await withPacedPeer(150, 4);
      // frames flow (one every 4 ms), then the producer stays attached... and leaves; then idle
      const flowing = await sampleJsThread(400);
      await peer.next('done');
      await waitUntil('every record', () => got.seqs.length === 150);
      const idle = await sampleJsThread(300);
      for (const s of [flowing, idle]) {
        expect(s.samples).toBeGreaterThan(50);
        expect(s.idle / s.samples).toBeGreaterThan(0.3); // the sampler sees the loop's own wait
        expect(s.futex / s.samples).toBeLessThan(0.1); // before the waiter thread: ~0.9
      }
      expect(got.seqs).toEqual(range(150));
      const st = c.stats();
      expect(st.wakeups).toBeGreaterThan(0);
      expect(st.futexWaits).toBeGreaterThan(0); // times the waiter was armed
    }, 30_000);

    it("consumer: the watchdog wakes it only while it sleeps (eventfd mode: the poller's timer, stopped at every wake-up)", async () => {
      const { c, got, peer } = await withPacedPeer(150, 4);
      const before = c.stats().watchdogWakes;
      await peer.next('done');
      await waitUntil('every record', () => got.seqs.length === 150);
      // 150 records 4 ms apart (600 ms or more): no gap of 200 ms, so no watchdog call
      expect(c.stats().watchdogWakes - before).toBe(0);
      // then a second with the producer gone and nothing to read: about five calls (200 ms each)
      await new Promise((r) => setTimeout(r, 1000));
      const idle = c.stats().watchdogWakes - before;
      if (wake === 'eventfd') {
        expect(idle).toBeGreaterThanOrEqual(2);
        expect(idle).toBeLessThanOrEqual(6);
      } else {
        expect(idle).toBe(0); // thread mode keeps a JS interval (not counted here)
      }
      expect(got.seqs).toEqual(range(150));
    }, 30_000);

    it('consumer: idle, its process does not spin (CPU a small fraction of the wall time; a spin would be all of it)', async () => {
      await idleWithPeer();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, 1000));
      const cpu = process.cpuUsage(cpu0);
      const wallUs = (performance.now() - t0) * 1000;
      expect((cpu.user + cpu.system) / wallUs).toBeLessThan(0.2);
    }, 30_000);

    it('consumer: setInterval keeps ticking while it waits for a producer of another process', async () => {
      await idleWithPeer();
      let ticks = 0;
      const t = setInterval(() => ticks++, 2);
      await new Promise((r) => setTimeout(r, 500));
      clearInterval(t);
      // A blocking 50 ms wait let at most one tick through per wait (<= 10 here). Wide margin: no speed asserted.
      expect(ticks).toBeGreaterThan(25);
    }, 30_000);

    it('wake-ups are coalesced: a burst of commits costs fewer JS calls, nothing lost, order kept; wake-to-handler stats are sane', async () => {
      const c = createRing({ ringBytes: 1024 * 1024, wake });
      closers.push(c);
      const got = collector(c);
      const peer = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'burst', name: c.name, count: 2000 })]);
      await peer.next('open');
      await waitUntil('the producer attached', () => c.stats().producers === 1);
      await new Promise((r) => setTimeout(r, 50)); // the consumer armed its waiter
      const before = c.stats().wakeups;
      peer.proc.send('go');
      await peer.next('done');
      await waitUntil('every record', () => got.seqs.length === 2000);
      expect(got.seqs).toEqual(range(2000)); // nothing lost, in order
      expect([...got.producers]).toEqual([9]);
      const st = c.stats();
      const wakeups = st.wakeups - before;
      expect(wakeups).toBeGreaterThan(0);
      expect(wakeups).toBeLessThan(2000 / 4); // one producer committing 2000 records in one turn
      await new Promise((r) => setTimeout(r, 20)); // (the last drain is counted when the waiter is armed again)
      const after = c.stats();
      console.log('coalescing burst:', JSON.stringify({ records: 2000, wakeups, ...Object.fromEntries(Object.entries(after).filter(([k]) => k.startsWith('wake'))) }));
      expect(after.wakeCoalesced).toBeGreaterThan(0);
      expect(after.wakeCoalesced + after.wakeups).toBeGreaterThanOrEqual(2000);
      expect(after.wakeP50Us).toBeGreaterThan(0);
      // every sample is a wake-up's, and the arrival's wake-up (eventfd mode) has none
      expect(after.wakeSamples).toBeGreaterThan(0);
      expect(after.wakeSamples).toBeLessThanOrEqual(after.wakeups);
      // the poller's own counters: eventfd mode only (in thread mode there is no poller)
      if (wake === 'thread') expect([after.pollCoalesced, after.pollSpurious]).toEqual([0, 0]);
      else expect([after.pollCoalesced, after.pollSpurious].every((n) => Number.isInteger(n) && n >= 0)).toBe(true);
      expect(after.wakeP50Us).toBeLessThanOrEqual(after.wakeP99Us);
      expect(after.wakeP99Us).toBeLessThanOrEqual(after.wakeMaxUs);
    }, 30_000);

    it('statsWindow: only the wake-ups and handoffs inside the window give latency samples; the counters stay whole-life', async () => {
      const { c, got, peer } = await withPacedPeer(100, 4);
      // a window that opens 100 ms from now and lasts 200 ms; the records take 400 ms or more
      const open = nowNs() + 100e6;
      c.statsWindow(open, open + 200e6);
      await peer.next('done');
      await waitUntil('every record', () => got.seqs.length === 100);
      expect(got.seqs).toEqual(range(100));
      const st = c.stats();
      expect(st.wakeSamples).toBeGreaterThan(0);
      expect(st.wakeSamples).toBeLessThan(st.wakeups); // the wake-ups before and after the window: counted, not sampled
      expect(st.handoffSamples).toBeGreaterThan(0);
      expect(st.handoffSamples).toBeLessThan(st.records);
      expect(decode(st.wakeHistogram).totalCount).toBe(st.wakeSamples);
      // a window still to come: no samples at all
      const later = createRing({ ringBytes: 64 * 1024, wake });
      closers.push(later);
      const got2 = collector(later);
      later.statsWindow(nowNs() + 3600e9, nowNs() + 3601e9);
      const peer2 = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'paced', name: later.name, count: 20, everyMs: 4 })]);
      await peer2.next('done');
      await waitUntil('every record', () => got2.seqs.length === 20);
      const st2 = later.stats();
      expect(st2.wakeups).toBeGreaterThan(0);
      expect([st2.wakeSamples, st2.wakeP99Us, st2.handoffSamples]).toEqual([0, 0, 0]);
    }, 30_000);

    it("a producer's death wakes the waiting consumer (peersSeq): FB_ERR_PEER_GONE, and its JS thread never blocked", async () => {
      const c = createRing({ ringBytes: 64 * 1024, wake });
      closers.push(c);
      const codes: string[] = [];
      c.onError((e) => codes.push(e.code));
      const got = collector(c);
      const peer = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'burst', name: c.name, count: 10 })]);
      await peer.next('open');
      await waitUntil('the producer attached', () => c.stats().producers === 1);
      peer.proc.send('go');
      await waitUntil('its records', () => got.seqs.length === 10);
      const wakeups = c.stats().wakeups;
      const probe = sampleJsThread(300);
      peer.proc.kill('SIGKILL');
      await waitUntil('PEER_GONE', () => codes.length > 0, 10_000);
      const s = await probe;
      expect(codes).toEqual(['FB_ERR_PEER_GONE']);
      expect(c.stats().wakeups).toBeGreaterThan(wakeups);
      expect(c.stats().producers).toBe(0);
      expect(s.futex / s.samples).toBeLessThan(0.1);
    }, 30_000);

    it('close() stops the waiter thread / closes the eventfds: a consumer process exits by itself once its ring is closed', async () => {
      const child = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'consumer-close', closeAfterMs: 300, wake })]);
      const closing = await child.next('closing');
      expect(closing.waits).toBeGreaterThan(0); // it was armed (holding the loop) until close()
      const exit = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
      expect(exit).toEqual({ code: 0, signal: null });
    }, 30_000);
  });

  it('producer: a full ring under the block policy is awaited (the waiter thread), never waited for on the JS thread', async () => {
    const consumer = spawnFixture('consumer.js', [JSON.stringify({ mode: 'idle', ringBytes: 8192 })]);
    const { name } = (await consumer.next('ready')) as { name: string };
    const p: RingProducer = openRing(name, { producerId: 0 });
    closers.push(p);
    const codes: string[] = [];
    p.onError((e) => codes.push(e.code));
    const sends: Promise<boolean>[] = [];
    let settled = 0;
    for (let i = 0; i < 12; i++) sends.push(p.send(new Uint8Array(1000)).catch(() => false).finally(() => settled++));
    await waitUntil('a full-ring wait', () => p.stats().fullWaits > 0);
    let ticks = 0;
    const t = setInterval(() => ticks++, 2);
    const s = await sampleJsThread(400);
    clearInterval(t);
    expect(settled).toBeLessThan(12); // nobody reads: the rest still wait
    expect(s.samples).toBeGreaterThan(50);
    expect(s.futex / s.samples).toBeLessThan(0.1); // before the waiter thread: ~0.9 (10 ms futex waits)
    expect(s.idle / s.samples).toBeGreaterThan(0.3);
    expect(ticks).toBeGreaterThan(0);
    consumer.proc.kill('SIGKILL'); // the consumer's death still ends the wait
    await Promise.all(sends);
    expect(settled).toBe(12);
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
  }, 30_000);

  it('close() of a producer waiting on a full ring ends the wait and its thread: the process exits by itself', async () => {
    const c = createRing({ ringBytes: 8192 }); // never started: nobody frees space
    closers.push(c);
    const child = spawnFixture('waiter-peer.js', [JSON.stringify({ mode: 'producer-close', name: c.name, closeAfterMs: 200 })]);
    const waiting = await child.next('waiting');
    expect(waiting.fullWaits).toBe(1);
    const exit = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('eventLoopDelay: off by default (no samples); on, the receiver reports p50 <= p99 <= max', async () => {
    const runDir = tmpdir();
    for (const on of [false, true]) {
      const rx = await shmTransport.createReceiver({ runDir, maxFrameBytes: 4096, producers: 1, policy: 'block', options: on ? { eventLoopDelay: true } : {} });
      rx.start((_f, release) => release());
      await new Promise((r) => setTimeout(r, 100));
      const st = rx.stats() as Record<string, number>;
      await rx.close();
      if (!on) {
        expect(st.loopDelaySamples).toBe(0);
        continue;
      }
      expect(st.loopDelaySamples).toBeGreaterThan(0);
      expect(st.loopDelayP50Us).toBeGreaterThanOrEqual(0);
      expect(st.loopDelayP50Us).toBeLessThanOrEqual(st.loopDelayP99Us);
      expect(st.loopDelayP99Us).toBeLessThanOrEqual(st.loopDelayMaxUs);
    }
  }, 30_000);
});
