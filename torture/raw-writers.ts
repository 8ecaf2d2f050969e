import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';

/**
 * Raw writers: put hostile bytes on a receiver's data path without the transport's own
 * sender, then hang up. Each resolves once its connection is closed (or after `ms`). Where to
 * write comes from the transport (`rawInput.target(address)`, transports/types.ts), never from
 * its name or the shape of its address. (A 'host-channel' target is written by a process the
 * receiver forks: receiver-child.ts and hosted-writer-child.ts.)
 */
function settle(sock: net.Socket, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      sock.destroy();
      resolve();
    }, ms);
    sock.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function connect(opts: net.NetConnectOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(opts);
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => undefined); // EPIPE/ECONNRESET once the receiver hangs up: expected
      resolve(s);
    });
  });
}

/** Writes `bytes` then ends the connection (the receiver sees them before the FIN). */
async function writeAndEnd(s: net.Socket, bytes: Buffer, ms: number): Promise<void> {
  s.resume();
  s.write(bytes);
  s.end();
  await settle(s, ms);
}

/** Connects to a stream socket (a transport's RawTarget 'socket') and writes its preamble, if any, then `bytes`. */
export async function writeSocket(to: net.NetConnectOpts, bytes: Buffer, ms = 3000, preamble?: Uint8Array): Promise<void> {
  const s = await connect(to);
  if (preamble?.byteLength) s.write(preamble);
  await writeAndEnd(s, bytes, ms);
}

/** Writes to FIFO `index` of a transport's RawTarget 'fifo' and closes it. */
export async function writeFifo(files: readonly string[], index: number, bytes: Buffer, ms = 3000): Promise<void> {
  const fd = fs.openSync(files[index], fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const s = new net.Socket({ fd, readable: false, writable: true });
  s.on('error', () => undefined);
  s.write(bytes);
  s.end();
  await settle(s, ms);
}

/**
 * `ws://127.0.0.1:<port>/<path>`: performs the WebSocket handshake by hand (or, with
 * `raw`, writes the bytes instead of a handshake), then writes `bytes` and hangs up.
 * Returns the HTTP status line the server answered, if any.
 */
export async function writeWs(address: string, bytes: Buffer, raw: boolean, ms = 3000, pathOverride?: string): Promise<string> {
  const url = new URL(address);
  const s = await connect({ host: url.hostname, port: Number(url.port) });
  if (raw) {
    let status = '';
    s.on('data', (d: Buffer) => (status ||= d.toString('latin1').split('\r\n')[0]));
    await writeAndEnd(s, bytes, ms);
    return status;
  }
  const key = randomBytes(16).toString('base64');
  s.write(
    `GET ${pathOverride ?? url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const status = await new Promise<string>((resolve) => {
    let got = '';
    const t = setTimeout(() => resolve(got.split('\r\n')[0] || 'no answer'), ms);
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        clearTimeout(t);
        s.off('data', onData);
        resolve(got.split('\r\n')[0]);
      }
    };
    s.on('data', onData);
    s.once('close', () => resolve(got.split('\r\n')[0] || 'closed'));
  });
  if (!status.startsWith('HTTP/1.1 101')) {
    s.destroy();
    return status;
  }
  await writeAndEnd(s, bytes, ms);
  return status;
}
