import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRing, openRing } from '../transports/shm/ring';
import { RingProducer } from '../transports/shm/producer';

/**
 * The producer's watchdog (transports/shm/producer.ts) checks the consumer every 200 ms only while
 * no loan does: a loan checks it itself (its pid at most every 200 ms), and on a paced producer a
 * timer of its own would be a second wake-up of the process every 200 ms (docs/ring.md, "Where
 * Node's producer spends what C does not"). An idle producer must still learn of the consumer's end.
 */
const open: { close(): void }[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const c of open.splice(0)) c.close();
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('shm producer watchdog', () => {
  it('while loans flow (every 20 ms), its timer never fires: the loans check the consumer', async () => {
    const c = createRing({ ringBytes: 1 << 16 });
    open.push(c);
    // checkConsumer(true) is the watchdog's call (and the constructor's); a loan's is checkConsumer(false)
    const check = vi.spyOn(RingProducer.prototype as unknown as { checkConsumer(pid: boolean): void }, 'checkConsumer');
    const p = openRing(c.name, { producerId: 0 });
    open.unshift(p);
    const t0 = performance.now();
    let loans = 0;
    while (performance.now() - t0 < 1200) {
      const l = await p.loan(16);
      l?.commit();
      loans++;
      for (let r = c.tryReceive(); r; r = c.tryReceive()) r.release();
      await sleep(20);
    }
    expect(loans).toBeGreaterThan(20);
    expect(check.mock.calls.filter(([pid]) => !pid).length).toBe(loans);
    expect(check.mock.calls.filter(([pid]) => pid).length).toBe(1); // the constructor's, none of the timer's
  });

  it('an idle producer (no loan) still learns that the consumer closed, through its watchdog', async () => {
    const c = createRing({ ringBytes: 4096 });
    const p = openRing(c.name, { producerId: 0 });
    open.push(p);
    const codes: string[] = [];
    p.onError((e) => codes.push(e.code));
    await p.loan(8).then((l) => l?.commit()); // a loan, then none: the watchdog takes over 200 ms later
    c.close();
    const t0 = performance.now();
    while (codes.length === 0 && performance.now() - t0 < 3000) await sleep(20);
    expect(codes).toEqual(['FB_ERR_PEER_GONE']);
  });
});
