import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { zeromqTransport } from '../transports/zeromq';
import { requireOrSkip } from './support/require';

/**
 * zeromq receivers set a ZAP domain: libzmq then refuses ZMTP 1.0/2.0 peers, so raw bytes on the
 * receiver's ipc socket (ZMTP 1.0 framing: length, flags, body) are never delivered as frames,
 * while a real sender (ZMTP 3) still gets through.
 */
const t = zeromqTransport;
const skip = requireOrSkip('zeromq', t.unavailableReason());
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-zap-'));
afterAll(() => fs.rmSync(runDir, { recursive: true, force: true }));

describe.skipIf(skip)('zeromq: stray peers', () => {
  it('raw ZMTP 1.0 bytes are refused; a well-formed sender still delivers', async () => {
    const rx = await t.createReceiver({ runDir, maxFrameBytes: 1 << 20, producers: 1, policy: 'block', options: {} });
    const got: number[] = [];
    rx.start((f, release) => {
      got.push(f.byteLength);
      release();
    });
    const file = rx.address.replace(/^.*ipc:\/\//, '');
    // ZMTP 1.0: one-byte length (flags + body), flags 0, body; 50 short messages
    const body = Buffer.from('hello-raw');
    const msg = Buffer.concat([Buffer.from([body.length + 1, 0]), body]);
    await new Promise<void>((resolve) => {
      const s = net.connect({ path: file }, () => {
        s.write(Buffer.concat([Buffer.from([0x01, 0x00]), ...new Array(50).fill(msg)]));
        setTimeout(() => (s.destroy(), resolve()), 300);
      });
      s.on('error', () => resolve());
    });
    const tx = await t.openSender(rx.address, { producerId: 0, maxFrameBytes: 1 << 20, policy: 'block', options: {} });
    tx.onError(() => undefined);
    await tx.send(new Uint8Array(1000).fill(1));
    const end = Date.now() + 5000;
    while (got.length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual([1000]);
    await tx.close();
    await rx.close();
  }, 20_000);
});
