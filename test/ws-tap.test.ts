import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FbError } from '../core/errors';
import { WireTap, wireTapStats } from '../transports/ws-wire-tap';
import { wsNoMaskTransport, wsTransport } from '../transports/ws';

interface FrameSpec {
  fin?: boolean;
  opcode?: number;
  /** 4-byte key, or omitted for an unmasked frame. */
  mask?: number[];
  length: number;
  /** Build the header only (payload bytes are never needed by the tap). */
  headerOnly?: boolean;
}

/** A WebSocket frame built by hand, per RFC 6455 section 5.2. */
function frame(f: FrameSpec): Buffer {
  const len = f.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const h = Buffer.alloc(2 + ext + (f.mask ? 4 : 0));
  h[0] = (f.fin === false ? 0 : 0x80) | (f.opcode ?? 2);
  h[1] = (f.mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) h.writeUInt16BE(len, 2);
  if (ext === 8) {
    h.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    h.writeUInt32BE(len >>> 0, 6);
  }
  if (f.mask) h.set(f.mask, 2 + ext);
  return f.headerOnly ? h : Buffer.concat([h, randomBytes(len)]);
}

const KEY = [0x12, 0x34, 0x56, 0x78];

describe('WireTap on hand-built frames', () => {
  it('counts unmasked frames with 7-, 16- and 64-bit lengths', () => {
    const tap = new WireTap();
    tap.push(Buffer.concat([frame({ length: 5 }), frame({ length: 300 }), frame({ length: 70000 }), frame({ length: 0 })]));
    expect(tap.counts).toMatchObject({ wireFrames: 4, dataFrames: 4, messages: 4, payloadBytes: 70305, maskedBytes: 0, maxFragmentsPerMessage: 1 });
    expect(tap.midMessage).toBe(false);
  });

  it('counts masked bytes, and zero-key bytes apart', () => {
    const tap = new WireTap();
    tap.push(Buffer.concat([frame({ length: 125, mask: KEY }), frame({ length: 126, mask: KEY }), frame({ length: 65536, mask: [0, 0, 0, 0] }), frame({ length: 9 })]));
    expect(tap.counts).toMatchObject({ wireFrames: 4, messages: 4, maskedBytes: 125 + 126 + 65536, zeroMaskBytes: 65536, payloadBytes: 125 + 126 + 65536 + 9 });
  });

  it('counts fragments per message and keeps control frames apart', () => {
    const tap = new WireTap();
    const message = [
      frame({ fin: false, opcode: 2, length: 1000, mask: KEY }),
      frame({ fin: false, opcode: 0, length: 1000, mask: KEY }),
      frame({ fin: true, opcode: 0x9, length: 4, mask: KEY }), // ping between fragments
      frame({ fin: true, opcode: 0, length: 10, mask: KEY }),
    ];
    tap.push(Buffer.concat([...message, frame({ length: 3, mask: KEY })]));
    const s = wireTapStats(tap.counts);
    expect(s).toMatchObject({ wireFrames: 5, controlFrames: 1, messages: 2, maxFragmentsPerMessage: 3, maskedBytes: 2017 });
    expect(s.fragmentsPerMessage).toBe(2);
  });

  it('gives the same counts whatever the chunking (headers split across chunks)', () => {
    const stream = Buffer.concat([
      frame({ length: 70000, mask: KEY, fin: false }),
      frame({ length: 300, opcode: 0, fin: false }),
      frame({ length: 1, opcode: 0, mask: KEY }),
      frame({ length: 126 }),
    ]);
    const whole = new WireTap();
    whole.push(stream);
    const bytewise = new WireTap();
    for (let i = 0; i < stream.byteLength; i++) bytewise.push(stream.subarray(i, i + 1));
    expect(bytewise.counts).toEqual(whole.counts);
    // cut inside each header and right after it
    const starts = [0, 70014, 70014 + 304, 70014 + 304 + 7];
    for (const s of starts) {
      for (let k = 1; k <= 14; k++) {
        const tap = new WireTap();
        tap.push(stream.subarray(0, s + k));
        tap.push(stream.subarray(s + k));
        expect(tap.counts, `cut at ${s}+${k}`).toEqual(whole.counts);
      }
    }
    expect(whole.counts).toMatchObject({ wireFrames: 4, messages: 2, maskedBytes: 70001, maxFragmentsPerMessage: 3 });
  });

  it('reads a 64-bit length above 4 GiB and skips the payload by counting', () => {
    const tap = new WireTap();
    const len = 0x100000000 + 5;
    tap.push(frame({ length: len, mask: KEY, headerOnly: true }));
    expect(tap.counts.payloadBytes).toBe(len);
    expect(tap.counts.maskedBytes).toBe(len);
    expect(tap.midMessage).toBe(true);
  });

  it('knows when it stands mid-message', () => {
    const tap = new WireTap();
    const f = frame({ length: 200, mask: KEY, fin: false });
    tap.push(f.subarray(0, 1));
    expect(tap.midMessage).toBe(true);
    tap.push(f.subarray(1));
    expect(tap.midMessage).toBe(true); // a fragment without FIN: the message is open
    tap.push(frame({ length: 10, opcode: 0, mask: KEY }));
    expect(tap.midMessage).toBe(false);
  });
});

describe('ws adapters with the tap on a real connection', () => {
  let runDir = '';
  beforeEach(() => {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-ws-'));
  });
  afterEach(() => fs.rmSync(runDir, { recursive: true, force: true }));

  const recvOpts = (options: Record<string, unknown> = {}) => ({ runDir, maxFrameBytes: 1 << 24, producers: 1, policy: 'block' as const, options });
  const sendOpts = (options: Record<string, unknown> = {}) => ({ producerId: 0, maxFrameBytes: 1 << 24, policy: 'block' as const, options });

  async function oneFrame(t: typeof wsTransport, bytes: number, fragmentBytes: number) {
    const r = await t.createReceiver(recvOpts({ fragmentBytes }));
    const got: Buffer[] = [];
    const arrived = new Promise<void>((resolve) =>
      r.start((f, release) => {
        got.push(Buffer.from(f));
        release();
        resolve();
      }),
    );
    const s = await t.openSender(r.address, sendOpts({ fragmentBytes }));
    const payload = randomBytes(bytes);
    await s.send(payload);
    await arrived;
    const out = { rs: r.stats(), ss: s.stats(), ok: got.length === 1 && got[0].equals(payload) };
    await s.close();
    await r.close();
    return out;
  }

  it('ws fragments one message into ceil(bytes / fragmentBytes) masked frames', async () => {
    const { rs, ss, ok } = await oneFrame(wsTransport, 4097, 1000);
    expect(ok).toBe(true);
    expect(rs).toMatchObject({ messages: 1, wireFrames: 5, maxFragmentsPerMessage: 5, maskedBytes: 4097, zeroMaskBytes: 0 });
    expect(['bufferutil', 'js', 'node']).toContain(rs.masking);
    expect(ss).toMatchObject({ fragmentsSent: 5, framesSent: 1 });
  });

  it('fragmentBytes 0 sends one unfragmented frame; ws-nomask sends a zero key', async () => {
    const plain = await oneFrame(wsTransport, 4097, 0);
    expect(plain.ok).toBe(true);
    expect(plain.rs).toMatchObject({ messages: 1, wireFrames: 1 });
    const nomask = await oneFrame(wsNoMaskTransport, 4097, 1000);
    expect(nomask.ok).toBe(true);
    expect(nomask.rs).toMatchObject({ masking: 'none', maskedBytes: 4097, zeroMaskBytes: 4097, wireFrames: 5 });
    expect(nomask.ss.masking).toBe('none');
    expect(wsNoMaskTransport.capabilities.compliant).toBe(false);
  });

  it('a producer dying between fragments is FB_ERR_PEER_GONE on the receiver', async () => {
    const r = await wsTransport.createReceiver(recvOpts());
    const err = new Promise<FbError>((resolve) => r.onError(resolve));
    r.start((_f, release) => release());
    const raw = new WebSocket(r.address, { perMessageDeflate: false });
    await new Promise((resolve, reject) => raw.once('open', resolve).once('error', reject));
    await new Promise<void>((resolve) => raw.send(randomBytes(5000), { binary: true, fin: false }, () => resolve()));
    raw.terminate();
    expect((await err).code).toBe('FB_ERR_PEER_GONE');
    await r.close();
  });
});
