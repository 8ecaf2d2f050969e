import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { processTree } from '../sources/browser';
import { startLiveProducer, verifyLiveFrame, type LiveProducer, type LiveResult } from '../sources/chromium-live';
import { rgbaToI420, i420Bytes } from '../sources/convert';
import { nowNs } from '../core/clock';
import { emptyHeader, headerView, readHeader, payloadBytesFor, HEADER_BYTES } from '../core/frame';
import { WireTap, newWireTapCounts, type WireTapCounts } from '../transports/ws-wire-tap';

// Needs Chromium (CI installs it: apt-get install -y chromium). Never skipped.

interface Received {
  frame: Buffer;
  recvNs: number;
}

/** A framebench-like consumer: a ws server on 127.0.0.1:0 with a wire tap on each socket. */
/** Polls until `cond` holds (a message can still be in flight when the producer reports done); fails after 5 s. */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
}

async function consumer(): Promise<{ url: string; frames: Received[]; tap: WireTapCounts; closed: Promise<number>; server: WebSocketServer }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const frames: Received[] = [];
  const tap = newWireTapCounts();
  let onClose: (code: number) => void = () => undefined;
  const closed = new Promise<number>((r) => (onClose = r));
  server.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    new WireTap(tap).attach(req.socket);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) frames.push({ frame: data, recvNs: nowNs() });
    });
    ws.on('close', (code: number) => onClose(code));
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, frames, tap, closed, server };
}

const open: { producer?: LiveProducer; server?: WebSocketServer } = {};
afterEach(async () => {
  await open.producer?.close();
  await new Promise((r) => (open.server ? open.server.close(r) : r(undefined)));
  open.producer = undefined;
  open.server = undefined;
});

describe('Chromium live producer', () => {
  it('streams 640x360 I420 frames as single messages that verify, in order, in the harness clock', async () => {
    const c = await consumer();
    open.server = c.server;
    const before = nowNs();
    const p = await startLiveProducer({ wsUrl: c.url, format: 'i420', width: 640, height: 360, fps: 30, producerId: 5, durationMs: 2000, seed: 3 });
    open.producer = p;
    // the clock sync took a sample; its offset is good to +-rttNs/2 plus the page clock's 100 µs grain
    expect(p.clock.rttNs).toBeGreaterThan(0);
    expect(Number.isFinite(p.clock.rttNs)).toBe(true);
    const offsetError = Math.max(2e6, p.clock.rttNs / 2 + 1e5);
    const r: LiveResult = await p.done;
    expect(await c.closed).toBe(1000);
    const cpu = p.browserCpuUs();
    const pids = p.browserPids();

    expect(r.slots).toBe(60);
    expect(r.framesSent + r.framesLate).toBe(r.slots);
    expect(r.framesSent).toBeGreaterThan(10);
    await until(() => c.frames.length >= r.framesSent); // the last message can still be in flight
    expect(c.frames.length).toBe(r.framesSent);
    const total = HEADER_BYTES + payloadBytesFor('i420', 640, 360);
    const h = emptyHeader();
    let prevSend = 0;
    for (let i = 0; i < c.frames.length; i++) {
      const { frame, recvNs } = c.frames[i];
      expect(frame.byteLength).toBe(total);
      expect(verifyLiveFrame(frame)).toBeNull();
      readHeader(headerView(frame), h);
      expect(h).toMatchObject({ seq: i, producerId: 5, format: 0, width: 640, height: 360 });
      // sendTimeNs is in the harness clock: after the test started, before receipt (up to the offset error)
      expect(h.sendTimeNs).toBeGreaterThan(before);
      expect(h.sendTimeNs).toBeLessThan(recvNs + offsetError);
      expect(h.sendTimeNs).toBeGreaterThanOrEqual(h.scheduledNs - 2e6);
      expect(h.sendTimeNs).toBeGreaterThan(prevSend);
      prevSend = h.sendTimeNs;
    }
    // Chromium fragments each 345,664 B message into wire frames of at most 131,000 B
    expect(c.tap.messages).toBe(c.frames.length);
    const fragmentsPerMessage = c.tap.dataFrames / c.tap.messages;
    expect(fragmentsPerMessage).toBeGreaterThanOrEqual(Math.ceil(total / 131_000));
    expect(c.tap.maskedBytes).toBeGreaterThanOrEqual(c.frames.length * total); // every client frame is masked

    expect(pids.length).toBeGreaterThan(1);
    expect(cpu.user + cpu.system).toBeGreaterThan(0);
    console.log(`live 640x360 i420: ${r.framesSent}/${r.slots} frames sent, ${r.framesLate} late, page work ${r.meanWorkMs.toFixed(1)} ms/frame, ` +
      `${fragmentsPerMessage.toFixed(1)} wire frames/message (max ${c.tap.maxFragmentsPerMessage}), browser CPU ${((cpu.user + cpu.system) / 1e3).toFixed(0)} ms over ${pids.length} processes, clock rtt ${(p.clock.rttNs / 1e3).toFixed(0)} us`);

    const root = pids[0];
    await p.close();
    expect(processTree(root)).toEqual([]);
    // close() takes a last reading (the browser ran on since `cpu`) and keeps it once the processes are gone
    const last = p.browserCpuUs();
    expect(last.user + last.system).toBeGreaterThanOrEqual(cpu.user + cpu.system);
    expect(p.browserCpuUs()).toEqual(last);
  }, 30_000);

  it('streams RGBA too, and a damaged frame fails verifyLiveFrame', async () => {
    const c = await consumer();
    open.server = c.server;
    const p = await startLiveProducer({ wsUrl: c.url, format: 'rgba', width: 320, height: 240, fps: 20, producerId: 1, durationMs: 500 });
    open.producer = p;
    const r = await p.done;
    expect(r.framesSent).toBeGreaterThan(0);
    await until(() => c.frames.length >= r.framesSent); // the last message can still be in flight
    expect(c.frames.length).toBe(r.framesSent);
    const f = c.frames[0].frame;
    expect(f.byteLength).toBe(HEADER_BYTES + 320 * 240 * 4);
    expect(verifyLiveFrame(f)).toBeNull();
    f[HEADER_BYTES + 4096] ^= 1;
    expect(verifyLiveFrame(f)).toMatch(/checksum/);
    f[HEADER_BYTES + 4096] ^= 1;
    expect(verifyLiveFrame(f.subarray(0, f.length - 4))).toMatch(/payload/);
    f.writeUInt32LE(0, 56);
    expect(verifyLiveFrame(f)).toMatch(/tag/);
  }, 30_000);

  it("the page's I420 converter matches sources/convert.ts byte for byte", async () => {
    const c = await consumer();
    open.server = c.server;
    // 5 slots, not 1: a slot the page reaches late is skipped (counted), and a loaded machine can miss one
    const p = await startLiveProducer({ wsUrl: c.url, format: 'rgba', width: 64, height: 48, fps: 10, producerId: 2, durationMs: 500 });
    open.producer = p;
    expect((await p.done).framesSent, 'no RGBA frame sent').toBeGreaterThan(0);
    await until(() => c.frames.length > 0);
    const rgba = c.frames[0].frame.subarray(HEADER_BYTES);
    const mine = rgbaToI420(rgba, 64, 48, new Uint8Array(i420Bytes(64, 48)));
    const c2 = await consumer();
    const p2 = await startLiveProducer({ wsUrl: c2.url, format: 'i420', width: 64, height: 48, fps: 10, producerId: 2, durationMs: 500 });
    try {
      expect((await p2.done).framesSent, 'no I420 frame sent').toBeGreaterThan(0);
      await until(() => c2.frames.length > 0);
      expect(Buffer.compare(c2.frames[0].frame.subarray(HEADER_BYTES), Buffer.from(mine))).toBe(0);
    } finally {
      await p2.close();
      await new Promise((r) => c2.server.close(r));
    }
  }, 30_000);

  it('an unreachable consumer is FB_ERR_PEER_GONE (the browser is closed on that path)', async () => {
    const c = await consumer();
    const url = c.url;
    await new Promise((r) => c.server.close(r));
    await expect(startLiveProducer({ wsUrl: url, format: 'i420', width: 64, height: 48, fps: 10, producerId: 0, durationMs: 100 })).rejects.toMatchObject({ code: 'FB_ERR_PEER_GONE' });
  }, 30_000);
});
