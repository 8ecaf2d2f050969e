import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SPARE_CONNECTIONS } from '../transports/common';
import type { Receiver, Sender } from '../transports/types';
import { zeromqTransport } from '../transports/zeromq';
import { requireOrSkip } from './support/require';
import { waitFor } from './support/transport-kit';

/**
 * zeromq receivers bound what a stray peer can make them hold: libzmq drops a connection that
 * announces a message above maxFrameBytes (`maxMessageSize`) before buffering it, and the
 * process's ZAP handler admits at most producers + SPARE_CONNECTIONS connections per receiver
 * (handshakes under way count: a burst beyond the cap is refused whole); the rest are denied and
 * counted.
 */
const t = zeromqTransport;
const skip = requireOrSkip('zeromq', t.unavailableReason());
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-zmq-limits-'));
afterAll(() => fs.rmSync(runDir, { recursive: true, force: true }));
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

async function receiver(maxFrameBytes: number, producers: number): Promise<{ rx: Receiver; got: number[]; codes: string[] }> {
  const rx = await t.createReceiver({ runDir, maxFrameBytes, producers, policy: 'block', options: {} });
  closers.push(() => rx.close());
  const got: number[] = [];
  const codes: string[] = [];
  rx.onError((e) => codes.push(e.code));
  rx.start((f, release) => {
    got.push(f.byteLength);
    release();
  });
  return { rx, got, codes };
}

async function sender(address: string, maxFrameBytes: number, producerId = 0): Promise<{ tx: Sender; codes: string[] }> {
  const tx = await t.openSender(address, { producerId, maxFrameBytes, policy: 'block', options: {} });
  closers.push(() => tx.close());
  const codes: string[] = [];
  tx.onError((e) => codes.push(e.code));
  return { tx, codes };
}

describe.skipIf(skip)('zeromq: receiver limits', () => {
  it('a message above maxFrameBytes is dropped by libzmq with its connection, never buffered for the receiver', async () => {
    const { rx, got, codes } = await receiver(64 * 1024, 1);
    // a hostile peer ignores the limit the address announces (an honest sender refuses such a frame itself)
    const z = await import('zeromq');
    const big = { codes: [] as string[] };
    const push = new z.Push({ linger: 0 });
    closers.push(async () => push.close());
    push.events.on('disconnect', () => big.codes.push('FB_ERR_PEER_GONE'));
    push.connect(rx.address.slice(rx.address.indexOf('ipc://')));
    await push.send(Buffer.alloc(256 * 1024, 3));
    // the connection is cut
    await waitFor('the oversized sender cut off', () => big.codes.includes('FB_ERR_PEER_GONE'), 5000);
    expect(got).toEqual([]);
    expect(rx.stats().framesRefused).toBe(0); // never reached the receiver's own check
    expect(codes).toEqual([]);
    // an honest sender still gets through
    const ok = await sender(rx.address, 64 * 1024, 0);
    await ok.tx.send(new Uint8Array(1000).fill(1));
    await waitFor('the honest frame', () => got.length === 1, 5000);
    expect(got).toEqual([1000]);
  }, 20_000);

  it(`admits at most producers + ${SPARE_CONNECTIONS} connections; the rest are refused and counted, the admitted ones deliver`, async () => {
    const { rx, got } = await receiver(1 << 20, 1);
    const z = await import('zeromq');
    const file = rx.address.slice(rx.address.indexOf('ipc://'));
    const cap = 1 + SPARE_CONNECTIONS;
    const pushes: Array<import('zeromq').Push> = [];
    let admitted = 0;
    const connect = (): void => {
      const p = new z.Push({ linger: 0 });
      p.events.on('handshake', () => admitted++);
      p.connect(file);
      pushes.push(p);
      closers.push(async () => p.close());
    };
    for (let i = 0; i < cap; i++) connect();
    await waitFor('the first peers admitted', () => admitted === cap, 5000);
    for (let i = 0; i < 5; i++) connect();
    await waitFor(`the extra peers refused (${JSON.stringify(rx.stats())})`, () => Number(rx.stats().connectionsRefused) >= 5, 5000);
    expect(admitted).toBe(cap);
    // every admitted peer delivers; a refused one's message stays queued in its own socket
    for (const p of pushes.slice(0, cap)) await p.send(Buffer.alloc(100));
    for (const p of pushes.slice(cap)) {
      p.sendTimeout = 0; // a refused peer has nowhere to send: EAGAIN, or queued in its own socket
      await p.send(Buffer.alloc(100)).catch(() => undefined);
    }
    await waitFor('the admitted frames', () => got.length === cap, 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(got.length).toBe(cap);
    expect(admitted).toBe(cap);
  }, 20_000);

  it('a burst of connections is never admitted beyond the cap (the kernel counts them, not the monitor)', async () => {
    const { rx } = await receiver(1 << 20, 1);
    const z = await import('zeromq');
    const file = rx.address.slice(rx.address.indexOf('ipc://'));
    let admitted = 0;
    let refused = 0;
    for (let i = 0; i < 12; i++) {
      const p = new z.Push({ linger: 0 });
      p.events.on('handshake', () => admitted++);
      p.events.on('handshake:error:auth', () => refused++);
      p.connect(file);
      closers.push(async () => p.close());
    }
    await waitFor('every handshake decided', () => admitted + refused >= 12, 5000);
    expect(admitted).toBeLessThanOrEqual(1 + SPARE_CONNECTIONS);
  }, 20_000);
});
