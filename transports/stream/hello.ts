import { randomBytes, timingSafeEqual } from 'node:crypto';
import type * as net from 'node:net';

/**
 * The hello a stream sender (`unix`, `tcp`) writes once, right after connecting, before any frame:
 *
 *  offset size field
 *   0     4    16 (u32 LE: the token's length)
 *   4     4    magic 0x46424831 ('FBH1', u32 LE)
 *   8     16   the receiver's token (tcp: 128 random bits, carried in the address; unix: zeros,
 *              the run directory's 0700 mode is its access control)
 *
 * Until a connection's hello has arrived whole and matches, it is handshaking: it counts against
 * the receiver's connection cap, nothing it sends reaches the frame parser, and it is closed after
 * `handshakeTimeoutMs`. A wrong hello closes it at once. Both are counted, not errors: a stranger
 * knocking must not fail the run.
 */
export const HELLO_MAGIC = 0x46424831;
export const TOKEN_BYTES = 16;
export const HELLO_BYTES = 8 + TOKEN_BYTES;

export function newToken(): Buffer {
  return randomBytes(TOKEN_BYTES);
}

export const ZERO_TOKEN = Buffer.alloc(TOKEN_BYTES);

export function encodeHello(token: Uint8Array): Buffer {
  const b = Buffer.alloc(HELLO_BYTES);
  b.writeUInt32LE(TOKEN_BYTES, 0);
  b.writeUInt32LE(HELLO_MAGIC, 4);
  b.set(token, 8);
  return b;
}

/** Whether `b` (exactly HELLO_BYTES) is the hello for `token`; the token compared in constant time. */
export function isHello(b: Buffer, token: Uint8Array): boolean {
  return b.byteLength === HELLO_BYTES && b.readUInt32LE(0) === TOKEN_BYTES && b.readUInt32LE(4) === HELLO_MAGIC && timingSafeEqual(b.subarray(8), token);
}

/**
 * Reads one connection's hello in flowing mode. `done(true)`: it matched; the socket is paused
 * again and any bytes after the hello are put back (unshift) for the frame parser.
 * `done(false)`: wrong bytes. Nothing is called if the socket closes first.
 */
export function readHello(socket: net.Socket, token: Uint8Array, done: (ok: boolean) => void): void {
  const got: Buffer[] = [];
  let have = 0;
  const onData = (chunk: Buffer): void => {
    got.push(chunk);
    have += chunk.byteLength;
    if (have < HELLO_BYTES) return;
    socket.off('data', onData);
    socket.pause();
    const all = got.length === 1 ? got[0] : Buffer.concat(got);
    const ok = isHello(all.subarray(0, HELLO_BYTES), token);
    if (ok && all.byteLength > HELLO_BYTES) socket.unshift(all.subarray(HELLO_BYTES));
    done(ok);
  };
  socket.on('data', onData);
  socket.resume();
}
