import * as net from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { wsFrame } from '../torture/bad-inputs';
import { SPARE_CONNECTIONS } from '../transports/common';
import type { Sender } from '../transports/types';
import { wsTransport } from '../transports/ws';
import { deadlineReceiver, type DeadlineRx } from './support/deadline-receiver';
import { waitFor } from './support/transport-kit';

/**
 * The ws receiver's deadlines: a TCP connection that has not completed its WebSocket upgrade
 * counts against the connection cap and is closed after handshakeTimeoutMs (at most twice the
 * cap are held at all); a producer silent in the middle of a message for frameIdleTimeoutMs is
 * dropped with FB_ERR_PEER_STALLED while the others go on; time the receiver holds a message
 * (its socket paused) does not count.
 */
const DEADLINE_MS = 200;
const CAP = 1 + SPARE_CONNECTIONS;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const receiver = (hold?: (release: () => void) => void): Promise<DeadlineRx> => deadlineReceiver(wsTransport, DEADLINE_MS, closers, hold);

function tcp(address: string): Promise<net.Socket> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: url.hostname, port: Number(url.port) }, () => resolve(s));
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

/** A ws client through its handshake; resolves 'open' or the refusal's HTTP status. */
function knock(url: string): Promise<{ outcome: string; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    closers.push(() => ws.terminate());
    ws.on('open', () => resolve({ outcome: 'open', ws }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ outcome: String(res.statusCode), ws });
      ws.terminate();
    });
    ws.on('error', () => resolve({ outcome: 'error', ws }));
  });
}

async function sender(address: string, producerId = 0): Promise<Sender> {
  const s = await wsTransport.openSender(address, { producerId, maxFrameBytes: 4 << 20, policy: 'block', options: {} });
  closers.push(() => s.close());
  s.onError(() => undefined);
  return s;
}

describe('ws receiver: handshake deadline', () => {
  it('connections that have not upgraded count against the cap (503) until handshakeTimeoutMs closes them; counted, no error', async () => {
    const { r, codes, frames } = await receiver();
    const silent: net.Socket[] = [];
    for (let i = 0; i < CAP; i++) silent.push(await tcp(r.address));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await knock(r.address)).outcome).toBe('503');
    const t0 = Date.now();
    for (const s of silent) expect(await closed(s, 20 * DEADLINE_MS)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(DEADLINE_MS / 2);
    expect(Number(r.stats().handshakesRefused)).toBe(1 + CAP);
    const s = await sender(r.address);
    expect(await s.send(new Uint8Array(1000))).toBe(true);
    await waitFor('the honest frame', () => frames.length === 1);
    expect(codes).toEqual([]);
  });

  it('a slow-loris upgrade request (a byte at a time) is closed at the deadline', async () => {
    const { r, codes } = await receiver();
    const url = new URL(r.address);
    const s = await tcp(r.address);
    const req = Buffer.from(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${'A'.repeat(22)}==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let i = 0;
    const drip = setInterval(() => {
      if (i < req.byteLength && !s.destroyed) s.write(req.subarray(i, ++i));
    }, DEADLINE_MS / 8);
    closers.push(() => clearInterval(drip));
    expect(await closed(s, 20 * DEADLINE_MS)).toBe(true);
    expect(i).toBeLessThan(req.byteLength);
    expect(codes).toEqual([]);
  });

  it('holds at most twice the cap of TCP connections at all: beyond, closed at once', async () => {
    const { r } = await receiver();
    const socks: net.Socket[] = [];
    for (let i = 0; i < 2 * CAP; i++) socks.push(await tcp(r.address));
    const extra = await tcp(r.address);
    expect(await closed(extra, DEADLINE_MS / 2)).toBe(true);
    for (const s of socks) expect(s.destroyed).toBe(false);
  });
});

describe('ws receiver: half-sent message deadline', () => {
  for (const [what, bytes] of [
    ['half a frame', wsFrame({ payload: Buffer.alloc(100_000) }).subarray(0, 5000)],
    ['the first fragment of a message', wsFrame({ fin: false, payload: Buffer.alloc(1000) })],
  ] as const) {
    it(`a producer that sends ${what} and goes silent is dropped with FB_ERR_PEER_STALLED; an honest one goes on`, async () => {
      const { r, codes, frames } = await receiver();
      const honest = await sender(r.address, 1);
      const k = await knock(r.address);
      expect(k.outcome).toBe('open');
      const raw = (k.ws as unknown as { _socket: net.Socket })._socket;
      raw.write(bytes);
      const t0 = Date.now();
      await waitFor('the stall reported', () => codes.length > 0, 20 * DEADLINE_MS);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(DEADLINE_MS / 2);
      expect(codes).toEqual(['FB_ERR_PEER_STALLED']);
      expect(r.stats().connectionsStalled).toBe(1);
      for (let i = 0; i < 3; i++) expect(await honest.send(new Uint8Array(2000))).toBe(true);
      await waitFor('the honest frames', () => frames.length === 3);
      await new Promise((resolve) => setTimeout(resolve, 2 * DEADLINE_MS));
      expect(codes).toEqual(['FB_ERR_PEER_STALLED']);
    });
  }

  it('time the receiver holds a message (its socket paused, the next one half-read) does not count', async () => {
    const held: Array<() => void> = [];
    const { r, codes, frames } = await receiver((release) => held.push(release));
    const s = await sender(r.address);
    const sends = [s.send(new Uint8Array(3 << 20)), s.send(new Uint8Array(3 << 20)), s.send(new Uint8Array(3 << 20))];
    await waitFor('the first frame', () => frames.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 5 * DEADLINE_MS));
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
