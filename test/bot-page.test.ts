import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { launchCallPage, processTree } from '../sources/browser';
import { checkWebCodecs, NO_WEBCODECS_ENV, prepareBot, wireVerdict, type PreparedBot } from '../sources/chromium-bot';
import { ChecksumVerifier } from '../harness/checksum-verifier';
import { payloadChecksum } from '../measure/checksum-native';
import { checksum } from '../core/checksum';
import { nowNs } from '../core/clock';
import { emptyHeader, hasChecksum, headerView, readHeader, HEADER_BYTES } from '../core/frame';
import { WireTap, newWireTapCounts, type WireTapCounts } from '../transports/ws-wire-tap';

// Needs Chromium with WebCodecs (CI installs it: apt-get install -y chromium). Never skipped.

async function consumer(): Promise<{ url: string; frames: Buffer[]; tap: WireTapCounts; server: WebSocketServer }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const frames: Buffer[] = [];
  const tap = newWireTapCounts();
  server.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    new WireTap(tap).attach(req.socket);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) frames.push(data);
    });
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, frames, tap, server };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

/** A window starting 100 ms from now: 300 ms of warm-up, then `ms` measured. */
function windowFromNow(ms: number): { t0Ns: number; windowStartNs: number; windowEndNs: number } {
  const t0Ns = nowNs() + 100e6;
  return { t0Ns, windowStartNs: t0Ns + 300e6, windowEndNs: t0Ns + 300e6 + ms * 1e6 };
}

const open: { bot?: PreparedBot; server?: WebSocketServer } = {};
afterEach(async () => {
  await open.bot?.close();
  await new Promise((r) => (open.server ? open.server.close(r) : r(undefined)));
  open.bot = undefined;
  open.server = undefined;
  delete process.env[NO_WEBCODECS_ENV];
});

describe('the bot page (WebCodecs decode, I420 over its own WebSocket)', () => {
  it("sends decoded I420 frames that verify end to end against the page's checksum; a changed byte is caught", async () => {
    const c = await consumer();
    open.server = c.server;
    const bot = await prepareBot({ wsUrl: c.url, send: true, width: 320, height: 240, fps: 30, producerId: 3 });
    open.bot = bot;
    expect(bot.clip.codec).toBe('vp8');
    expect(bot.clip.clipFrames).toBe(60);
    expect(bot.clip.keyframes).toBeGreaterThanOrEqual(1);
    expect(bot.chromiumVersion).toMatch(/Chrom/);
    const r = await bot.start(windowFromNow(1000));
    expect(r.error).toBeNull();
    expect(r.frameFormat).toBe('I420');
    expect(r.framesSent).toBe(r.framesProcessed);
    expect(r.framesSent + r.framesLate).toBe(r.slots);
    expect(r.framesSent).toBeGreaterThan(5);
    expect(r.stampErrors).toBe(0); // the decoder gave the clip's frames back in order
    await until(() => c.frames.length >= r.framesSent);
    expect(c.frames.length).toBe(r.framesSent);

    const verifier = new ChecksumVerifier(payloadChecksum(), null);
    const h = emptyHeader();
    for (let i = 0; i < c.frames.length; i++) {
      const f = c.frames[i];
      expect(f.byteLength).toBe(HEADER_BYTES + (320 * 240 * 3) / 2);
      expect(hasChecksum(headerView(f))).toBe(true);
      expect(verifier.verify(f, 3, i)).toBeNull();
      readHeader(headerView(f), h);
      expect(h).toMatchObject({ seq: i, producerId: 3, format: 0, width: 320, height: 240 });
    }
    expect(verifier.stats().checksumFrames).toBe(c.frames.length);
    const f = c.frames[c.frames.length - 1];
    f[HEADER_BYTES + 1000] ^= 0x10;
    expect(verifier.verify(f, 3, c.frames.length - 1)).toMatch(/checksum/);

    // Chromium's wire: every byte masked, at least ceil(115,264 / 131,000) = 1 fragment per message
    expect(c.tap.messages).toBe(c.frames.length);
    expect(c.tap.maskedBytes).toBeGreaterThanOrEqual(c.frames.length * f.byteLength);
    const pids = bot.browserPids();
    expect(pids.length).toBeGreaterThan(1);
    await bot.close();
    expect(processTree(pids[0])).toEqual([]);
  }, 90_000);

  it('the no-send control decodes, copies and checksums every frame but the consumer sees none', async () => {
    const c = await consumer();
    open.server = c.server;
    const bot = await prepareBot({ wsUrl: c.url, send: false, width: 320, height: 240, fps: 30, producerId: 0 });
    open.bot = bot;
    const r = await bot.start(windowFromNow(1000));
    expect(r.error).toBeNull();
    expect(r.framesProcessed).toBeGreaterThan(5);
    expect(r.windowFrames).toBeGreaterThan(0);
    expect(r.framesSent).toBe(0);
    expect(r.ms.send).toBe(0);
    expect(r.ms.checksum).toBeGreaterThanOrEqual(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(c.frames.length).toBe(0);
    expect(c.tap.messages).toBe(0);
  }, 90_000);

  it("the page's checksum equals core/checksum.ts on every length and alignment tail", async () => {
    const b = await launchCallPage({ width: 320, height: 240, page: 'bot.html' });
    try {
      for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 13, 4099, 65_537]) {
        const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff);
        const page = await b.page.evaluate((arr) => (globalThis as unknown as { fbBot: { checksumOf(a: Uint8Array): number[] } }).fbBot.checksumOf(Uint8Array.from(arr)), [...bytes]);
        expect(page, `length ${n}`).toEqual(checksum(bytes));
      }
    } finally {
      await b.close();
    }
  }, 60_000);

  it('a page without WebCodecs is FB_ERR_WEBCODECS_MISSING, from the pre-flight and from prepare, without hanging', async () => {
    process.env[NO_WEBCODECS_ENV] = '1';
    const t = Date.now();
    await expect(checkWebCodecs()).rejects.toMatchObject({ code: 'FB_ERR_WEBCODECS_MISSING' });
    await expect(prepareBot({ wsUrl: null, send: false, width: 320, height: 240, fps: 30, producerId: 0 })).rejects.toMatchObject({ code: 'FB_ERR_WEBCODECS_MISSING' });
    expect(Date.now() - t).toBeLessThan(60_000);
  }, 90_000);

  it('wireVerdict flags fragments that are not 131,000-byte chunks', () => {
    expect(wireVerdict(3_110_464, 24, 24).flag).toBeNull();
    expect(wireVerdict(3_110_464, 24, 24).expected).toBe(24);
    const v = wireVerdict(3_110_464, 29.5, 48);
    expect(v.flag).toMatch(/not 24 chunks of 131,000 B/);
    expect(v.meanFragmentBytes).toBe(Math.round(3_110_464 / 29.5));
    expect(wireVerdict(3_110_464, 0, 0).flag).toBeNull(); // nothing seen: nothing to flag
  });
});
