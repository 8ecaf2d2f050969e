import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SPARE_CONNECTIONS } from '../transports/common';
import { encodePrefix } from '../transports/stream/parser';
import { tcpTransport } from '../transports/tcp';
import { unixTransport } from '../transports/unix';
import type { Receiver, Transport } from '../transports/types';
import { waitFor } from './support/transport-kit';

/**
 * Security review: a stream receiver (unix, tcp) held any number of connections, each able to
 * make it allocate an assembly buffer of maxFrameBytes; on tcp any local user can connect.
 * Now at most producers + SPARE_CONNECTIONS are held at once; more are closed and counted.
 */
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A raw connection that has sent its hello (the transport's raw-input preamble). */
function rawConnect(transport: Transport, address: string): Promise<net.Socket> {
  const target = transport.rawInput!.target(address);
  if (target.kind !== 'socket') throw new Error('not a socket target');
  return new Promise((resolve, reject) => {
    const s = net.connect(target.connect, () => {
      if (target.preamble) s.write(target.preamble);
      resolve(s);
    });
    s.on('error', reject);
    closers.push(() => s.destroy());
  });
}

const closed = (s: net.Socket): Promise<boolean> =>
  new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), 1500);
    s.once('close', () => (clearTimeout(t), resolve(true)));
    s.resume();
  });

describe.each([unixTransport, tcpTransport] as Transport[])('$name receiver: connection cap', (transport) => {
  it(`holds at most producers + ${SPARE_CONNECTIONS} connections; the rest are closed and counted, the held ones keep working`, async () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-stream-cap-'));
    closers.push(() => fs.rmSync(runDir, { recursive: true, force: true }));
    const r: Receiver = await transport.createReceiver({ runDir, maxFrameBytes: 1 << 20, producers: 1, policy: 'block', options: {} });
    closers.push(() => r.close());
    const frames: number[] = [];
    const codes: string[] = [];
    r.onError((e) => codes.push(e.code));
    r.start((f, release) => {
      frames.push(f.byteLength);
      release();
    });
    const held: net.Socket[] = [];
    for (let i = 0; i < 1 + SPARE_CONNECTIONS; i++) held.push(await rawConnect(transport, r.address));
    await waitFor('accepted', () => Number(r.stats().connections) === 1 + SPARE_CONNECTIONS);
    const extra = await rawConnect(transport, r.address);
    expect(await closed(extra)).toBe(true);
    expect(r.stats().connectionsRefused).toBe(1);
    expect(codes).toEqual([]);
    held[0].write(Buffer.concat([encodePrefix(100), Buffer.alloc(100)]));
    await waitFor('a frame on a held connection', () => frames.length === 1);
    expect(frames).toEqual([100]);
  });
});
