import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SPARE_CONNECTIONS } from '../transports/common';
import { encodeHello, newToken } from '../transports/stream/hello';
import { encodePrefix } from '../transports/stream/parser';
import { tcpTransport } from '../transports/tcp';
import type { Sender, Transport } from '../transports/types';
import { unixTransport } from '../transports/unix';
import { deadlineReceiver, type DeadlineRx } from './support/deadline-receiver';
import { waitFor } from './support/transport-kit';

/**
 * Stream receivers (unix, tcp): a connection is handshaking until its hello arrives (it counts
 * against the connection cap, and is closed after handshakeTimeoutMs or at a wrong hello; tcp's
 * hello carries the address's token), and a producer that sends part of a frame and then goes
 * silent is dropped with FB_ERR_PEER_STALLED after frameIdleTimeoutMs, while the others go on.
 * Time the receiver itself holds the socket paused (a frame unreleased) does not count.
 */
const DEADLINE_MS = 200;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const receiver = (transport: Transport, hold?: (release: () => void) => void): Promise<DeadlineRx> =>
  deadlineReceiver(transport, DEADLINE_MS, closers, hold);

/** A raw connection; `hello`: the transport's own hello first (its raw-input preamble). */
function rawConnect(transport: Transport, address: string, hello: boolean): Promise<net.Socket> {
  const target = transport.rawInput!.target(address);
  if (target.kind !== 'socket') throw new Error('not a socket target');
  return new Promise((resolve, reject) => {
    const s = net.connect(target.connect, () => {
      if (hello && target.preamble) s.write(target.preamble);
      resolve(s);
    });
    s.on('error', () => undefined);
    s.once('error', reject);
    closers.push(() => s.destroy());
  });
}

const closed = (s: net.Socket, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => (clearTimeout(t), resolve(true)));
    s.resume();
  });

async function sender(transport: Transport, address: string, producerId = 0): Promise<Sender> {
  const s = await transport.openSender(address, { producerId, maxFrameBytes: 4 << 20, policy: 'block', options: {} });
  closers.push(() => s.close());
  s.onError(() => undefined);
  return s;
}

describe.each([unixTransport, tcpTransport] as Transport[])('$name receiver: handshake and idle deadlines', (transport) => {
  it('a connection that never says hello holds a slot of the cap until handshakeTimeoutMs, then is closed and counted; no error', async () => {
    const { r, codes, frames } = await receiver(transport);
    const silent: net.Socket[] = [];
    for (let i = 0; i < 1 + SPARE_CONNECTIONS; i++) silent.push(await rawConnect(transport, r.address, false));
    await waitFor('the silent ones accepted', () => Number(r.stats().connections) === 1 + SPARE_CONNECTIONS);
    // handshaking connections fill the cap: one more is refused at once
    const extra = await rawConnect(transport, r.address, true);
    expect(await closed(extra, 1000)).toBe(true);
    expect(r.stats().connectionsRefused).toBe(1);
    // ... until the deadline closes them
    const t0 = Date.now();
    for (const s of silent) expect(await closed(s, 20 * DEADLINE_MS)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(DEADLINE_MS / 2);
    expect(r.stats().handshakesRefused).toBe(1 + SPARE_CONNECTIONS);
    const s = await sender(transport, r.address);
    expect(await s.send(new Uint8Array(1000))).toBe(true);
    await waitFor('the honest frame', () => frames.length === 1);
    expect(codes).toEqual([]);
  });

  it('a slow-loris hello (a byte at a time, slower than the deadline allows) is closed', async () => {
    const { r, codes } = await receiver(transport);
    const s = await rawConnect(transport, r.address, false);
    const hello = (transport.rawInput!.target(r.address) as { preamble: Uint8Array }).preamble;
    let i = 0;
    const drip = setInterval(() => {
      if (i < hello.byteLength && !s.destroyed) s.write(hello.subarray(i, ++i));
    }, DEADLINE_MS / 4);
    closers.push(() => clearInterval(drip));
    expect(await closed(s, 20 * DEADLINE_MS)).toBe(true);
    expect(i).toBeLessThan(hello.byteLength);
    expect(r.stats().handshakesRefused).toBe(1);
    expect(codes).toEqual([]);
  });

  it('a wrong hello is closed at once and counted; what followed it is never parsed', async () => {
    const { r, codes, frames } = await receiver(transport);
    const s = await rawConnect(transport, r.address, false);
    s.write(Buffer.concat([encodeHello(newToken()), encodePrefix(100), Buffer.alloc(100)]));
    expect(await closed(s, DEADLINE_MS / 2)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // unix's token is zeros: a random one is wrong there too
    expect(r.stats().handshakesRefused).toBe(1);
    expect(frames).toEqual([]);
    expect(codes).toEqual([]);
  });

  it('a producer that sends half a frame and goes silent is dropped with FB_ERR_PEER_STALLED; an honest one goes on', async () => {
    const { r, codes, frames } = await receiver(transport);
    const honest = await sender(transport, r.address, 1);
    const loris = await rawConnect(transport, r.address, true);
    loris.write(Buffer.concat([encodePrefix(100_000), Buffer.alloc(5_000)]));
    const t0 = Date.now();
    await waitFor('the stall reported', () => codes.length > 0, 20 * DEADLINE_MS);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(DEADLINE_MS / 2);
    expect(await closed(loris, 1000)).toBe(true);
    expect(codes).toEqual(['FB_ERR_PEER_STALLED']);
    expect(r.stats().connectionsStalled).toBe(1);
    for (let i = 0; i < 3; i++) expect(await honest.send(new Uint8Array(2000))).toBe(true);
    await waitFor('the honest frames', () => frames.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 2 * DEADLINE_MS));
    expect(codes).toEqual(['FB_ERR_PEER_STALLED']); // once, and no FB_ERR_PEER_GONE for the same connection
  });

  it('time the receiver holds a frame (its socket paused, the next frame half-read) does not count against the producer', async () => {
    const held: Array<() => void> = [];
    const { r, codes, frames } = await receiver(transport, (release) => held.push(release));
    const s = await sender(transport, r.address);
    const sends = [s.send(new Uint8Array(3 << 20)), s.send(new Uint8Array(3 << 20)), s.send(new Uint8Array(3 << 20))];
    await waitFor('the first frame', () => frames.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 5 * DEADLINE_MS)); // the consumer sits on it
    expect(codes).toEqual([]);
    while (frames.length < 3 || held.length > 0) {
      held.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await Promise.all(sends)).toEqual([true, true, true]);
    expect(codes).toEqual([]);
    expect(r.stats().connectionsStalled).toBe(0);
  });
});
