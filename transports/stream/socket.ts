import * as net from 'node:net';
import { fbError, type FbError } from '../../core/errors';
import { ErrorSink, frameTooLarge, maxConnections } from '../common';
import type { ErrorHandler, FrameHandler, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, StatsShape } from '../types';
import { SocketFeed, type FeedOwner } from './feed';
import { encodePrefix, MAX_PREFIX_LENGTH, newParserCounters, PARSER_STATS } from './parser';

/**
 * The two ends of a framed stream socket (`unix`, `tcp`; `pipe` uses the sender and the feed).
 * Sender: prefix and frame are two separate buffers written under cork()/uncork() (one
 * writev, the frame is never concatenated); `send` resolves in the frame's write callback.
 * Receiver: a net.Server; each connection's bytes go through a SocketFeed (feed.ts), which
 * pauses the socket while a delivered frame is unreleased. It holds at most
 * producers + SPARE_CONNECTIONS connections (common.ts); more are closed and counted.
 */
export const STREAM_RECEIVER_STATS = {
  ...PARSER_STATS,
  connections: 'number',
  connectionsRefused: 'number',
  pauses: 'number',
  assemblyBytes: 'number',
} as const satisfies StatsShape;

export const STREAM_SENDER_STATS = {
  framesSent: 'number',
  bytesSent: 'number',
  framesDropped: 'number',
  writesBlocked: 'number',
} as const satisfies StatsShape;

export interface StreamEndpoint {
  /** What `server.listen` binds (a Unix path or 127.0.0.1:0). */
  listen: net.ListenOptions;
  /** The published address once listening. */
  address(server: net.Server): string;
  noDelay: boolean;
  /** Runs after the server closed (e.g. unlinks the socket file). */
  cleanup?(): void;
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
    if (this.conns.size >= maxConnections(this.opts.producers)) {
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

  stats(): StatsOf<typeof STREAM_RECEIVER_STATS> {
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
      return Promise.reject(frameTooLarge(frame.byteLength, Math.min(this.opts.maxFrameBytes, MAX_PREFIX_LENGTH)));
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

  stats(): StatsOf<typeof STREAM_SENDER_STATS> {
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
