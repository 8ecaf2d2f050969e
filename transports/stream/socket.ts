import * as net from 'node:net';
import { fbError, type FbError } from '../../core/errors';
import { ErrorSink, frameTooLarge, maxConnections } from '../common';
import { DeadlineClock, IdleWatch, type Deadlines } from '../deadlines';
import { encodeHello, readHello } from './hello';
import type { ErrorHandler, FrameHandler, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, StatsShape } from '../types';
import { SocketFeed, type FeedOwner } from './feed';
import { encodePrefix, MAX_PREFIX_LENGTH, newParserCounters, PARSER_STATS } from './parser';

/**
 * The two ends of a framed stream socket (`unix`, `tcp`; `pipe` uses the sender and the feed).
 * Sender: prefix and frame are two separate buffers written under cork()/uncork() (one
 * writev, the frame is never concatenated); `send` resolves in the frame's write callback.
 * Receiver: a net.Server; a connection first sends its hello (hello.ts), then its bytes go
 * through a SocketFeed (feed.ts), which pauses the socket while a delivered frame is unreleased.
 * It holds at most producers + SPARE_CONNECTIONS connections (common.ts), handshaking ones
 * included; more are closed and counted.
 * Deadlines (deadlines.ts: one timer per receiver, in ticks, so a consumer stopped by SIGSTOP does
 * not count the stop against its peers): a hello unfinished after `handshakeTimeoutMs` closes the
 * connection (counted); a connection that stops sending in the middle of a frame for
 * `frameIdleTimeoutMs` while the receiver is reading it is dropped with FB_ERR_PEER_STALLED.
 * Neither fires for an honest sender: it writes its hello on connect, and a frame as one write.
 */
export const STREAM_RECEIVER_STATS = {
  ...PARSER_STATS,
  connections: 'number',
  connectionsRefused: 'number',
  /** Connections closed for a wrong hello or none within handshakeTimeoutMs. */
  handshakesRefused: 'number',
  /** Connections dropped for a frame left half-sent for frameIdleTimeoutMs. */
  connectionsStalled: 'number',
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
  /** The token every connection's hello must carry (hello.ts). */
  token: Uint8Array;
  /** Runs after the server closed (e.g. unlinks the socket file). */
  cleanup?(): void;
}

/** A connection past its hello, with its frame-idle deadline. */
interface Tracked {
  feed: SocketFeed;
  idle: IdleWatch;
  stalled: boolean;
}

/** The receiving end of a framed stream socket: a net.Server accepting any number of producers. */
export class StreamReceiver implements Receiver {
  address = '';
  private readonly server: net.Server;
  private readonly conns = new Set<Tracked>();
  private readonly clock: DeadlineClock;
  private handshakesRefused = 0;
  private stalled = 0;
  private readonly sink = new ErrorSink();
  private readonly counters = newParserCounters();
  private handler: FrameHandler | null = null;
  private closing: Promise<void> | null = null;
  private accepted = 0;
  private pauses = 0;
  private refused = 0;
  private readonly feedOwner: FeedOwner;

  private constructor(
    private readonly opts: ReceiverOptions,
    private readonly endpoint: StreamEndpoint,
    private readonly deadlines: Deadlines,
  ) {
    this.clock = new DeadlineClock(
      deadlines,
      (socket) => {
        this.handshakesRefused++;
        socket.destroy();
      },
      () => this.idleTick(),
    );
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

  static async create(opts: ReceiverOptions, endpoint: StreamEndpoint, deadlines: Deadlines): Promise<StreamReceiver> {
    const r = new StreamReceiver(opts, endpoint, deadlines);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        r.clock.stop();
        reject(fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `cannot listen on ${JSON.stringify(endpoint.listen)}: ${e.code ?? e.message}`));
      };
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

  /** The frame-idle deadline: a connection silent mid-frame while it is read is dropped. */
  private idleTick(): void {
    for (const c of this.conns) {
      const f = c.feed;
      // paused: the receiver holds a frame (or has no handler yet): not the peer's silence
      if (!c.idle.tick(f.chunks, !f.paused && f.parser.midFrame, this.clock.idleTicks)) continue;
      c.stalled = true;
      this.conns.delete(c);
      this.stalled++;
      this.sink.emit(fbError('FB_ERR_PEER_STALLED', `a producer sent part of a frame and then nothing for ${this.deadlines.frameIdleTimeoutMs} ms: connection dropped`));
      f.socket.destroy();
    }
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.conns.size + this.clock.handshakes >= maxConnections(this.opts.producers)) {
      this.refused++; // counted, not an error: a stranger knocking must not fail the run
      socket.destroy();
      return;
    }
    this.accepted++;
    if (this.endpoint.noDelay) socket.setNoDelay(true);
    this.clock.startHandshake(socket);
    socket.on('error', () => {
      /* ECONNRESET etc.: 'close' follows */
    });
    readHello(socket, this.endpoint.token, (ok) => {
      if (!this.clock.endHandshake(socket)) return; // timed out meanwhile
      if (!ok || this.closing) {
        if (!this.closing) this.handshakesRefused++;
        socket.destroy();
        return;
      }
      this.admit(socket);
    });
  }

  /** A connection past its hello: its bytes go to a feed. */
  private admit(socket: net.Socket): void {
    const feed = new SocketFeed(socket, this.feedOwner);
    const c: Tracked = { feed, idle: new IdleWatch(), stalled: false };
    this.conns.add(c);
    socket.on('close', () => {
      this.conns.delete(c);
      if (!c.stalled) feed.parser.end(); // a stalled one was reported already
    });
    if (this.handler) feed.resume();
  }

  start(handler: FrameHandler): void {
    this.handler = handler;
    for (const c of this.conns) c.feed.resumeIfIdle();
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof STREAM_RECEIVER_STATS> {
    let assembly = 0;
    for (const c of this.conns) assembly += c.feed.parser.assemblyBytes;
    return {
      ...this.counters,
      connections: this.accepted,
      connectionsRefused: this.refused,
      handshakesRefused: this.handshakesRefused,
      connectionsStalled: this.stalled,
      pauses: this.pauses,
      assemblyBytes: assembly,
    };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.clock.stop();
        for (const c of this.conns) c.feed.socket.destroy();
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

  /** Connects and writes the hello for `token` (hello.ts) before anything else. */
  static async open(connect: net.NetConnectOpts, opts: SenderOptions, label: string, noDelay: boolean, token: Uint8Array): Promise<StreamSender> {
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
    socket.write(encodeHello(token));
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
