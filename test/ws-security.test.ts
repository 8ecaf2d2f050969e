import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { wsMaxFragments, wsTransport } from '../transports/ws';
import type { Receiver } from '../transports/types';
import { waitFor } from './support/transport-kit';

/**
 * Who may talk to the ws receiver (127.0.0.1 is open to every local user and to any web page
 * in a local browser): only a client that knows the capability path in the address, and at
 * most producers + 2 at once. Refusals happen at the handshake and are counted, not errors.
 * The fragment-count limit is configurable and reported as FB_ERR_PROTOCOL.
 */
const open: Array<{ close(): unknown }> = [];
let runDir = '';
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
  if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
});

async function receiver(options: Record<string, unknown> = {}, producers = 1): Promise<{ r: Receiver; frames: number[]; codes: string[] }> {
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-ws-sec-'));
  const r = await wsTransport.createReceiver({ runDir, maxFrameBytes: 1 << 20, producers, policy: 'block', options });
  open.push(r);
  const frames: number[] = [];
  const codes: string[] = [];
  r.onError((e) => codes.push(e.code));
  r.start((f, release) => {
    frames.push(f.byteLength);
    release();
  });
  return { r, frames, codes };
}

/** Opens a raw ws client; resolves with 'open' or the HTTP status of a refused handshake. */
function knock(url: string): Promise<{ outcome: string; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('open', () => resolve({ outcome: 'open', ws }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ outcome: String(res.statusCode), ws });
      ws.terminate();
    });
    ws.on('error', () => resolve({ outcome: 'error', ws }));
  });
}

describe('ws receiver: who may connect', () => {
  it('publishes a capability address and refuses a handshake without it (403), counting, not failing', async () => {
    const { r, frames, codes } = await receiver();
    expect(r.address).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/fb\/[0-9a-f]{32}$/);
    const base = r.address.replace(/\/fb\/.*$/, '');
    expect((await knock(`${base}/`)).outcome).toBe('403');
    expect((await knock(`${base}/fb/${'0'.repeat(32)}`)).outcome).toBe('403');
    expect((await knock(`${r.address}x`)).outcome).toBe('403');
    expect(r.stats().handshakesRefused).toBe(3);
    expect(codes).toEqual([]);
    // the real address still works
    const s = await wsTransport.openSender(r.address, { producerId: 0, maxFrameBytes: 1 << 20, policy: 'block', options: {} });
    open.push(s);
    await s.send(new Uint8Array(1000));
    await waitFor('the frame', () => frames.length === 1);
  });

  it('a sender refuses an address without the capability path', async () => {
    await expect(wsTransport.openSender('ws://127.0.0.1:1234/', { producerId: 0, maxFrameBytes: 1 << 20, policy: 'block', options: {} })).rejects.toMatchObject({
      code: 'FB_ERR_INTERNAL',
    });
  });

  it('accepts at most producers + 2 connections at once (503 beyond); the open ones keep working', async () => {
    const { r, frames } = await receiver({}, 1);
    const held: WebSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const k = await knock(r.address);
      expect(k.outcome).toBe('open');
      held.push(k.ws);
      open.push({ close: () => k.ws.terminate() });
    }
    expect((await knock(r.address)).outcome).toBe('503');
    held[0].send(new Uint8Array(10), { binary: true });
    await waitFor('a frame on a held connection', () => frames.length === 1);
    // once one closes, a new one is accepted
    held[1].terminate();
    let again = '';
    for (let i = 0; i < 50 && again !== 'open'; i++) {
      await new Promise((res) => setTimeout(res, 20));
      const k = await knock(r.address);
      again = k.outcome;
      open.push({ close: () => k.ws.terminate() });
    }
    expect(again).toBe('open');
  });
});

describe('ws receiver: fragment-count limit', () => {
  it('defaults to ws\'s 16384 (a browser may fragment finely) and is configurable', () => {
    expect(wsMaxFragments(3_110_464, {})).toBe(16384);
    expect(wsMaxFragments(3_110_464, { maxFragments: 64 })).toBe(64);
    expect(wsMaxFragments(64 << 20, { fragmentBytes: 1000 })).toBe(Math.ceil((64 << 20) / 1000) + 1);
    expect(() => wsMaxFragments(1, { maxFragments: 0 })).toThrow(expect.objectContaining({ code: 'FB_ERR_BAD_NUMBER' }));
  });

  it('a message in more fragments than maxFragments is FB_ERR_PROTOCOL at the receiver; the sender hears it', async () => {
    const { r, frames, codes } = await receiver({ maxFragments: 8 });
    const s = await wsTransport.openSender(r.address, { producerId: 0, maxFrameBytes: 1 << 20, policy: 'block', options: { fragmentBytes: 100 } });
    open.push(s);
    const sent: string[] = [];
    s.onError((e) => sent.push(e.code));
    await s.send(new Uint8Array(800)); // 8 fragments: accepted
    await waitFor('the 8-fragment frame', () => frames.length === 1);
    await s.send(new Uint8Array(900)).catch((e: { code: string }) => sent.push(e.code)); // 9 fragments
    await waitFor('the receiver\'s error', () => codes.length > 0);
    expect(codes[0]).toBe('FB_ERR_PROTOCOL');
    await waitFor('the sender\'s error', () => sent.length > 0);
    expect(sent[0]).toBe('FB_ERR_PROTOCOL');
    expect(frames).toEqual([800]);
  });
});
