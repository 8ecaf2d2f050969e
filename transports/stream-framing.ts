import * as net from 'node:net';
import { fbError, type FbError } from '../core/errors';
import type { ErrorHandler, FrameHandler, Receiver, ReceiverOptions, Sender, SenderOptions, TransportStats } from './types';

/**
 * Length-prefixed framing shared by the `unix` and `tcp` adapters.
 *
 *  offset size field
 *   0     4    frame length in bytes (u32 LE; <= the receiver's maxFrameBytes)
 *   4     4    magic 0x46425331 ('FBS1', u32 LE)
 *   8     n    the frame (header + payload) exactly as the producer handed it over
 *
 * Sender: prefix and frame are two separate buffers written under cork()/uncork() (one
 * writev, the frame is never concatenated); `send` resolves in the frame's write callback.
 * Receiver: a frame lying inside one socket chunk is delivered as a view of that chunk;
 * otherwise it is assembled into ONE reusable buffer per connection, sized for the largest
 * frame seen. The socket is paused while a delivered frame is unreleased.
 */
export const PREFIX_BYTES = 8;
export const STREAM_MAGIC = 0x46425331;
/** Default largest frame for socket transports: 256 MiB (a 4K RGBA frame is ~33 MB). */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** The prefix's u32 length caps any frame at 4 GiB - 1. */
const MAX_PREFIX_LENGTH = 0xffffffff;
/**
 * Connections a receiver holds at once beyond its producers (a reconnect racing the old
 * socket's close). Each connection may allocate an assembly buffer of up to maxFrameBytes,
 * and 127.0.0.1 (tcp) is open to every local user: the cap bounds that memory.
 */
export const SPARE_CONNECTIONS = 2;

/** Fan-out of FbErrors to the handlers registered with onError(); keeps a few until one is. */
export class ErrorSink {
  private readonly handlers: ErrorHandler[] = [];
  private backlog: FbError[] = [];

  add(handler: ErrorHandler): void {
    this.handlers.push(handler);
    const held = this.backlog;
    this.backlog = [];
    for (const e of held) handler(e);
  }

  emit(err: FbError): void {
    if (this.handlers.length === 0) {
      if (this.backlog.length < 16) this.backlog.push(err);
      return;
    }
    for (const h of this.handlers) h(err);
  }
}

/** Counters a parser adds to; one object may be shared by every connection of a receiver. */
export interface ParserCounters {
  framesReceived: number;
  bytesReceived: number;
  /** Frames delivered as a view of the socket chunk (no copy). */
  framesZeroCopy: number;
  /** Frames that spanned chunks and were copied into the assembly buffer. */
  framesAssembled: number;
  bytesAssembled: number;
  /** Times an assembly buffer was (re)allocated. */
  assemblyAllocs: number;
}

export function newParserCounters(): ParserCounters {
  return { framesReceived: 0, bytesReceived: 0, framesZeroCopy: 0, framesAssembled: 0, bytesAssembled: 0, assemblyAllocs: 0 };
}

export interface ParserEvents {
  frame: FrameHandler;
  /** Malformed stream (FB_ERR_PROTOCOL) or a peer gone mid-frame (FB_ERR_PEER_GONE); parsing stops. */
  error(err: FbError): void;
  /** Every queued byte was parsed and no frame is outstanding: the socket may flow again. */
  idle(): void;
}

/** Incremental parser for one connection. Pure: no sockets, so it is unit-tested directly. */
export class FrameParser {
  private readonly prefix = new Uint8Array(PREFIX_BYTES);
  private prefixHave = 0;
  /** Body length of the frame being read; -1 while reading a prefix. */
  private need = -1;
  private have = 0;
  private assembly: Buffer | null = null;
  private readonly pending: Buffer[] = [];
  private outstanding = false;
  private looping = false;
  private failed = false;
  private ended = false;
  private endChecked = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly events: ParserEvents,
    readonly counters: ParserCounters = newParserCounters(),
  ) {}

  /** True while a delivered frame is unreleased (the owner pauses its socket). */
  get busy(): boolean {
    return this.outstanding;
  }

  /** Bytes of the assembly buffer (0 until a frame spans chunks). */
  get assemblyBytes(): number {
    return this.assembly ? this.assembly.byteLength : 0;
  }

  /** True when a frame has started but not been delivered whole. */
  get midFrame(): boolean {
    return this.need >= 0 || this.prefixHave > 0 || this.pending.length > 0;
  }

  push(chunk: Buffer): void {
    if (this.failed || this.ended) return;
    if (chunk.byteLength > 0) this.pending.push(chunk);
    this.run();
  }

  /** The connection closed: once queued bytes are delivered, a partial frame is FB_ERR_PEER_GONE. */
  end(): void {
    this.ended = true;
    this.run();
  }

  private run(): void {
    if (this.looping) return;
    this.looping = true;
    try {
      while (!this.outstanding && !this.failed && this.pending.length > 0) {
        const chunk = this.pending[0];
        const used = this.consume(chunk);
        if (used === chunk.byteLength) this.pending.shift();
        else this.pending[0] = chunk.subarray(used);
      }
    } finally {
      this.looping = false;
    }
    if (this.outstanding || this.failed || this.pending.length > 0) return;
    if (this.ended) {
      if (!this.endChecked) {
        this.endChecked = true;
        if (this.need >= 0 || this.prefixHave > 0) {
          const what = this.need >= 0 ? `${this.have} of ${this.need} bytes` : `${this.prefixHave} of ${PREFIX_BYTES} prefix bytes`;
          this.fail(fbError('FB_ERR_PEER_GONE', `sender closed the connection mid-frame (${what} received)`));
        }
      }
      return;
    }
    this.events.idle();
  }

  /** Parses from `chunk` until it is used up or a frame is outstanding; returns bytes used. */
  private consume(chunk: Buffer): number {
    const len = chunk.byteLength;
    let pos = 0;
    while (pos < len && !this.outstanding && !this.failed) {
      if (this.need < 0) {
        let length: number;
        let magic: number;
        if (this.prefixHave === 0 && len - pos >= PREFIX_BYTES) {
          length = chunk.readUInt32LE(pos);
          magic = chunk.readUInt32LE(pos + 4);
          pos += PREFIX_BYTES;
        } else {
          // prefix split across chunks: at most 8 bytes, copied in JS
          while (this.prefixHave < PREFIX_BYTES && pos < len) this.prefix[this.prefixHave++] = chunk[pos++];
          if (this.prefixHave < PREFIX_BYTES) break;
          const p = this.prefix;
          length = (p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24)) >>> 0;
          magic = (p[4] | (p[5] << 8) | (p[6] << 16) | (p[7] << 24)) >>> 0;
          this.prefixHave = 0;
        }
        if (magic !== STREAM_MAGIC) {
          this.fail(fbError('FB_ERR_PROTOCOL', `bad frame magic 0x${magic.toString(16)} (expected 0x${STREAM_MAGIC.toString(16)})`));
          break;
        }
        if (length > this.maxFrameBytes) {
          this.fail(fbError('FB_ERR_PROTOCOL', `frame of ${length} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`));
          break;
        }
        this.need = length;
        this.have = 0;
        if (length === 0) this.deliver(chunk.subarray(pos, pos), false);
      } else if (this.have === 0 && len - pos >= this.need) {
        const view = chunk.subarray(pos, pos + this.need);
        pos += this.need;
        this.deliver(view, false);
      } else {
        if (this.have === 0) this.ensureAssembly(this.need);
        const asm = this.assembly as Buffer;
        const n = Math.min(this.need - this.have, len - pos);
        chunk.copy(asm, this.have, pos, pos + n);
        this.have += n;
        pos += n;
        this.counters.bytesAssembled += n;
        if (this.have === this.need) this.deliver(asm.subarray(0, this.need), true);
      }
    }
    return pos;
  }

  private ensureAssembly(bytes: number): void {
    if (this.assembly && this.assembly.byteLength >= bytes) return;
    this.assembly = Buffer.allocUnsafeSlow(bytes);
    this.counters.assemblyAllocs++;
  }

  private deliver(view: Buffer, assembled: boolean): void {
    const c = this.counters;
    c.framesReceived++;
    c.bytesReceived += view.byteLength;
    if (assembled) c.framesAssembled++;
    else c.framesZeroCopy++;
    this.need = -1;
    this.have = 0;
    this.outstanding = true;
    let released = false;
    this.events.frame(view, () => {
      if (released) return;
      released = true;
      this.outstanding = false;
      this.run();
    });
  }

  private fail(err: FbError): void {
    this.failed = true;
    this.pending.length = 0;
    this.events.error(err);
  }
}

/** Writes the 8-byte prefix for a frame of `length` bytes. */
export function encodePrefix(length: number): Buffer {
  const p = Buffer.allocUnsafe(PREFIX_BYTES);
  p.writeUInt32LE(length, 0);
  p.writeUInt32LE(STREAM_MAGIC, 4);
  return p;
}

export interface StreamEndpoint {
  /** What `server.listen` binds (a Unix path or 127.0.0.1:0). */
  listen: net.ListenOptions;
  /** The published address once listening. */
  address(server: net.Server): string;
  noDelay: boolean;
  /** Runs after the server closed (e.g. unlinks the socket file). */
  cleanup?(): void;
}

/** What a socket's feed needs from the receiver that owns it. */
export interface FeedOwner {
  readonly maxFrameBytes: number;
  readonly counters: ParserCounters;
  handler(): FrameHandler | null;
  closing(): boolean;
  /** A parse error: reported once by the owner (the socket is destroyed by the feed). */
  fail(err: FbError): void;
  /** Counts a pause (a frame is held, so the socket stops reading). */
  paused(): void;
}

/**
 * One socket's bytes through a FrameParser: frames to the owner's handler, a parse error to
 * the owner (and the socket destroyed), the socket paused while a delivered frame is held and
 * resumed when it is released. Shared by the unix/tcp receiver and the pipe receiver.
 */
export class SocketFeed {
  paused = true;
  readonly parser: FrameParser;

  constructor(readonly socket: net.Socket, owner: FeedOwner) {
    this.parser = new FrameParser(
      owner.maxFrameBytes,
      {
        frame: (view, release) => (owner.handler() as FrameHandler)(view, release),
        error: (err) => {
          if (owner.closing()) return;
          owner.fail(err);
          socket.destroy();
        },
        idle: () => {
          if (this.paused && owner.handler() && !owner.closing()) this.resume();
        },
      },
      owner.counters,
    );
    socket.on('data', (chunk: Buffer) => {
      this.parser.push(chunk);
      if (this.parser.busy && !this.paused) {
        this.paused = true;
        owner.paused();
        socket.pause();
      }
    });
    socket.on('error', () => {
      /* ECONNRESET etc.: 'close' follows and decides */
    });
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  /** Resumes a feed paused before a handler existed (nothing held). */
  resumeIfIdle(): void {
    if (this.paused && !this.parser.busy) this.resume();
  }
}

/** The receiving end of a framed stream socket: a net.Server accepting any number of producers. */
export class StreamReceiver implements Receiver {
  address = '';
  private readonly server: net.Server;
  private readonly conns = new Set<SocketFeed>();
  private readonly sink = new ErrorSink();
  private readonly counters = newParserCounters();
  private handler: FrameHandler | null = null;
  private closing: Promise<void> | null = null;
  private accepted = 0;
  private pauses = 0;
  private refused = 0;
  private readonly feedOwner: FeedOwner;

  private constructor(private readonly opts: ReceiverOptions, private readonly endpoint: StreamEndpoint) {
    this.server = net.createServer({ pauseOnConnect: true }, (s) => this.accept(s));
    this.feedOwner = {
      maxFrameBytes: opts.maxFrameBytes,
      counters: this.counters,
      handler: () => this.handler,
      closing: () => this.closing !== null,
      fail: (err) => this.sink.emit(err),
      paused: () => this.pauses++,
    };
  }

  static async create(opts: ReceiverOptions, endpoint: StreamEndpoint): Promise<StreamReceiver> {
    const r = new StreamReceiver(opts, endpoint);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) =>
        reject(fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `cannot listen on ${JSON.stringify(endpoint.listen)}: ${e.code ?? e.message}`));
      r.server.once('error', onError);
      r.server.listen(endpoint.listen, () => {
        r.server.off('error', onError);
        resolve();
      });
    });
    r.server.on('error', (e) => r.sink.emit(fbError('FB_ERR_PEER_GONE', `receiver socket error: ${e.message}`)));
    r.address = endpoint.address(r.server);
    return r;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= Math.max(1, this.opts.producers) + SPARE_CONNECTIONS) {
      this.refused++; // counted, not an error: a stranger knocking must not fail the run
      socket.destroy();
      return;
    }
    this.accepted++;
    if (this.endpoint.noDelay) socket.setNoDelay(true);
    const conn = new SocketFeed(socket, this.feedOwner);
    this.conns.add(conn);
    socket.on('close', () => {
      this.conns.delete(conn);
      conn.parser.end();
    });
    if (this.handler) conn.resume();
  }

  start(handler: FrameHandler): void {
    this.handler = handler;
    for (const c of this.conns) c.resumeIfIdle();
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): TransportStats {
    let assembly = 0;
    for (const c of this.conns) assembly += c.parser.assemblyBytes;
    return { ...this.counters, connections: this.accepted, connectionsRefused: this.refused, pauses: this.pauses, assemblyBytes: assembly };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        for (const c of this.conns) c.socket.destroy();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        this.endpoint.cleanup?.();
      })();
    }
    return this.closing;
  }
}

interface Pending {
  resolve(v: boolean): void;
  reject(e: FbError): void;
}

/** The sending end: one connection, prefix + frame per send under cork()/uncork(). */
export class StreamSender implements Sender {
  private readonly sink = new ErrorSink();
  private readonly pending = new Set<Pending>();
  private gone: FbError | null = null;
  private closing: Promise<void> | null = null;
  private framesSent = 0;
  private bytesSent = 0;
  private framesDropped = 0;
  private writesBlocked = 0;

  private constructor(private readonly socket: net.Socket, private readonly opts: SenderOptions, private readonly label: string) {
    socket.on('error', (e: NodeJS.ErrnoException) => this.peerGone(`connection error: ${e.code ?? e.message}`));
    socket.on('end', () => this.peerGone('receiver closed the connection'));
    socket.on('close', () => this.peerGone('connection closed'));
    socket.resume(); // nothing is expected from the receiver; flowing mode lets us see 'end'
  }

  static async open(connect: net.NetConnectOpts, opts: SenderOptions, label: string, noDelay: boolean): Promise<StreamSender> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(connect);
      const onError = (e: NodeJS.ErrnoException) => {
        s.destroy();
        reject(fbError('FB_ERR_PEER_GONE', `no receiver at ${label}: ${e.code ?? e.message}`));
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(s);
      });
    });
    if (noDelay) socket.setNoDelay(true);
    return new StreamSender(socket, opts, label);
  }

  /** The same framing over a socket opened elsewhere (e.g. a FIFO's write end wrapped in net.Socket). */
  static wrap(socket: net.Socket, opts: SenderOptions, label: string): StreamSender {
    return new StreamSender(socket, opts, label);
  }

  private peerGone(why: string): void {
    if (this.closing || this.gone) return;
    this.gone = fbError('FB_ERR_PEER_GONE', `${this.label}: ${why}`);
    for (const p of this.pending) p.reject(this.gone);
    this.pending.clear();
    this.socket.destroy();
    this.sink.emit(this.gone);
  }

  send(frame: Uint8Array): Promise<boolean> {
    if (this.gone) return Promise.reject(this.gone);
    if (this.closing) return Promise.reject(fbError('FB_ERR_INTERNAL', `${this.label}: send after close`));
    if (frame.byteLength > this.opts.maxFrameBytes || frame.byteLength > MAX_PREFIX_LENGTH) {
      const max = Math.min(this.opts.maxFrameBytes, MAX_PREFIX_LENGTH);
      return Promise.reject(fbError('FB_ERR_FRAME_TOO_LARGE', `frame of ${frame.byteLength} bytes exceeds maxFrameBytes ${max}`));
    }
    if (this.opts.policy === 'drop' && this.socket.writableLength > 0) {
      this.framesDropped++;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      this.pending.add(p);
      const s = this.socket;
      s.cork();
      s.write(encodePrefix(frame.byteLength));
      const ok = s.write(frame, (err) => {
        if (!this.pending.delete(p)) return;
        if (err) {
          reject(this.gone ?? fbError('FB_ERR_PEER_GONE', `${this.label}: write failed: ${err.message}`));
          this.peerGone(`write failed: ${err.message}`);
          return;
        }
        this.framesSent++;
        this.bytesSent += frame.byteLength;
        resolve(true);
      });
      s.uncork();
      if (!ok) this.writesBlocked++;
    });
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): TransportStats {
    return { framesSent: this.framesSent, bytesSent: this.bytesSent, framesDropped: this.framesDropped, writesBlocked: this.writesBlocked };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        const s = this.socket;
        if (s.destroyed) return resolve();
        const timer = setTimeout(() => s.destroy(), 2000);
        timer.unref();
        s.once('close', () => {
          clearTimeout(timer);
          for (const p of this.pending) p.reject(fbError('FB_ERR_PEER_GONE', `${this.label}: closed before the frame was written`));
          this.pending.clear();
          resolve();
        });
        s.end();
      });
    }
    return this.closing;
  }
}
