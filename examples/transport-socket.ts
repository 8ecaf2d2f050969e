/**
 * A small transport of your own, for docs/adding-a-transport.md: length-prefixed frames over a Unix
 * socket in the run directory. It uses only framebench's public API, so it works from an installed
 * package as from this checkout:
 *
 *   npx framebench check-transport ./transport-socket.ts
 *   npx framebench run --transport ./transport-socket.ts,shm --duration 0.5
 *
 * On the wire each frame is a 4-byte little-endian length, then the frame (framebench's header and payload).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { defineTransport, FbError, type ErrorCode } from 'framebench';
import type { FrameHandler, Receiver, Sender } from 'framebench';

type ErrorHandler = (e: FbError) => void;
const err = (code: ErrorCode, msg: string): FbError => new FbError(code, `example-socket: ${msg}`);

/** Gathers a connection's bytes into whole frames: one copy per frame, into a buffer of its own. */
class Framer {
  private frame: Buffer | null = null;
  private filled = 0;
  private len = Buffer.alloc(4);
  private lenFilled = 0;

  constructor(private readonly maxFrameBytes: number, private readonly deliver: (f: Buffer) => void) {}

  /** Consumes a chunk; returns an error code for malformed input. */
  push(chunk: Buffer): FbError | null {
    let at = 0;
    while (at < chunk.length) {
      if (!this.frame) {
        const n = Math.min(4 - this.lenFilled, chunk.length - at);
        chunk.copy(this.len, this.lenFilled, at, at + n);
        this.lenFilled += n;
        at += n;
        if (this.lenFilled < 4) return null;
        const size = this.len.readUInt32LE(0);
        if (size > this.maxFrameBytes) return err('FB_ERR_PROTOCOL', `a ${size} B frame is above the receiver's ${this.maxFrameBytes} B`);
        this.frame = Buffer.allocUnsafe(size);
        this.filled = 0;
        this.lenFilled = 0;
      }
      const n = Math.min(this.frame.length - this.filled, chunk.length - at);
      chunk.copy(this.frame, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.frame.length) {
        const f = this.frame;
        this.frame = null;
        this.deliver(f);
      }
    }
    return null;
  }

  /** A frame was cut off by the sender's end. */
  get midFrame(): boolean {
    return this.frame !== null || this.lenFilled > 0;
  }
}

class SocketReceiver implements Receiver {
  private readonly conns = new Set<net.Socket>();
  private handler: FrameHandler | null = null;
  private readonly errors: ErrorHandler[] = [];
  private readonly pending: Buffer[] = [];
  private frames = 0;
  private closed: Promise<void> | null = null;

  constructor(private readonly server: net.Server, readonly address: string, private readonly maxFrameBytes: number) {
    server.on('connection', (c) => this.accept(c));
  }

  private accept(c: net.Socket): void {
    this.conns.add(c);
    const framer = new Framer(this.maxFrameBytes, (f) => this.deliver(f));
    c.on('data', (chunk) => {
      const bad = framer.push(chunk);
      if (bad) {
        this.fail(bad);
        c.destroy();
      }
    });
    c.on('error', () => {});
    c.on('close', () => {
      this.conns.delete(c);
      if (framer.midFrame && !this.closed) this.fail(err('FB_ERR_PEER_GONE', 'a sender went away mid-frame'));
    });
  }

  private deliver(f: Buffer): void {
    if (!this.handler) {
      this.pending.push(f);
      return;
    }
    this.frames++;
    this.handler(f, () => {}); // each frame has its own buffer: nothing to give back
  }

  private fail(e: FbError): void {
    for (const h of this.errors) h(e);
  }

  start(handler: FrameHandler): void {
    this.handler = handler;
    for (const f of this.pending.splice(0)) this.deliver(f);
  }

  onError(handler: ErrorHandler): void {
    this.errors.push(handler);
  }

  stats() {
    return { frames: this.frames };
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      for (const c of this.conns) c.destroy();
      this.server.close(() => {
        fs.rmSync(this.address, { force: true });
        resolve();
      });
    });
    return this.closed;
  }
}

class SocketSender implements Sender {
  private readonly errors: ErrorHandler[] = [];
  private gone: FbError | null = null;
  private frames = 0;
  private readonly len = Buffer.alloc(4);

  constructor(private readonly sock: net.Socket, private readonly maxFrameBytes: number, private readonly drop: boolean) {
    sock.on('error', () => {});
    sock.on('close', () => {
      if (this.gone) return; // our own close(): no error
      this.gone = err('FB_ERR_PEER_GONE', 'the receiver went away');
      for (const h of this.errors) h(this.gone);
    });
  }

  send(frame: Uint8Array): Promise<boolean> {
    if (this.gone) return Promise.reject(this.gone);
    if (frame.byteLength > this.maxFrameBytes) return Promise.reject(err('FB_ERR_FRAME_TOO_LARGE', `a ${frame.byteLength} B frame is above ${this.maxFrameBytes} B`));
    if (this.drop && this.sock.writableNeedDrain) return Promise.resolve(false);
    this.len.writeUInt32LE(frame.byteLength, 0);
    this.sock.cork();
    this.sock.write(Buffer.from(this.len));
    return new Promise((resolve, reject) => {
      this.sock.write(frame, (e) => {
        if (e) reject(this.gone ?? err('FB_ERR_PEER_GONE', e.message));
        else {
          this.frames++;
          resolve(true);
        }
      });
      this.sock.uncork();
    });
  }

  onError(handler: ErrorHandler): void {
    this.errors.push(handler);
  }

  stats() {
    return { frames: this.frames };
  }

  async close(): Promise<void> {
    this.gone ??= err('FB_ERR_PEER_GONE', 'closed');
    if (this.sock.destroyed) return;
    await new Promise<void>((resolve) => {
      this.sock.once('close', () => resolve());
      this.sock.end();
      setTimeout(() => this.sock.destroy(), 1000).unref();
    });
  }
}

let seq = 0;

export default defineTransport({
  name: 'example-socket',
  description: 'example: length-prefixed frames over a Unix socket (examples/transport-socket.ts)',
  maxFrameBytes: 256 * 1024 * 1024,
  options: [],
  stats: { receiver: { frames: 'number' }, sender: { frames: 'number' } },
  unavailableReason: () => (process.platform === 'linux' ? null : 'Linux only'),
  async createReceiver(opts) {
    const address = path.join(opts.runDir, `example-${process.pid}-${seq++}.sock`);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => resolve());
    });
    return new SocketReceiver(server, address, opts.maxFrameBytes);
  },
  async openSender(address, opts) {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(address, () => resolve(s));
      s.once('error', (e) => reject(err('FB_ERR_PEER_GONE', `cannot connect to ${address}: ${e.message}`)));
    });
    return new SocketSender(sock, opts.maxFrameBytes, opts.policy === 'drop');
  },
});
