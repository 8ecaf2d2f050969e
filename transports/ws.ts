import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { fbError, type FbError } from '../core/errors';
import type { ErrorHandler, FrameHandler, OptionSpec, OptionValues, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, StatsShape, Transport } from './types';
import { DEFAULT_MAX_FRAME_BYTES, ErrorSink, FRAME_IDLE_TIMEOUT_OPTION, frameTooLarge, HANDSHAKE_TIMEOUT_OPTION, maxConnections } from './common';
import { DeadlineClock, IdleWatch } from './deadlines';
import { defineTransport } from './define';
import { checkOptions } from './options';
import { WIRE_TAP_STATS, WireTap, newWireTapCounts, wireTapStats } from './ws-wire-tap';

/**
 * WebSocket as a browser producer uses it: the producer is a `ws` client (every frame
 * masked), each video frame is ONE binary message fragmented into WebSocket frames of at
 * most `fragmentBytes` (option; default 131000 like Chromium; 0 = one frame), sent as
 * `subarray` views (never concatenated), permessage-deflate off. The consumer is a `ws`
 * server on 127.0.0.1 with ws's default receive path (it concatenates the fragments: the
 * realistic cost), `maxPayload` = maxFrameBytes, plus a header-only wire tap (ws-wire-tap.ts).
 *
 * `ws-nomask` is the same with an all-zero masking key so ws skips the XOR. That is NOT
 * spec-compliant (a client must use a fresh random key); it only isolates the cost of masking.
 *
 * Who may connect: 127.0.0.1 is reachable by every local user and by any web page open in a
 * browser on this host (browsers let any origin open a WebSocket to localhost). So the address
 * carries a capability: `ws://127.0.0.1:<port>/fb/<128-bit random hex>`; a handshake to any
 * other path is refused (403) before a byte of data is read, and at most `producers + 2`
 * connections (common.ts SPARE_CONNECTIONS) are open at once (503 beyond), bounding what buffered messages can cost
 * (each is capped at maxFrameBytes). Refusals are counted (`handshakesRefused`), not errors:
 * a stranger knocking must not fail the run.
 * Limits: `maxPayload` = maxFrameBytes (ws closes 1009 above it) and `maxFragments` fragments
 * per message (option; default WS_DEFAULT_MAX_FRAGMENTS, ws closes 1008 above it): both are
 * FB_ERR_PROTOCOL at the receiver.
 * Deadlines (deadlines.ts: one timer per receiver, counted in ticks so a consumer stopped by
 * SIGSTOP does not count the stop against its peers): a TCP connection not upgraded within `handshakeTimeoutMs`
 * is closed and counted in `handshakesRefused`; until then it counts against the cap (a
 * handshake is refused 503 when the upgraded and other pending connections fill it, and at most
 * twice the cap are held at all). A producer silent for `frameIdleTimeoutMs` in the middle of a
 * message, while the receiver is reading, is dropped with FB_ERR_PEER_STALLED.
 */
export const DEFAULT_FRAGMENT_BYTES = 131000;
/** ws's server default for fragments per message. */
const WS_DEFAULT_MAX_FRAGMENTS = 16 * 1024;
const ADDRESS_RE = /^ws:\/\/127\.0\.0\.1:\d{1,5}\/fb\/[0-9a-f]{32}$/;

/**
 * Fragments per message the receiver accepts: the `maxFragments` option, else the larger of
 * ws's default (16384: a browser may fragment far more finely than we do) and what our own
 * senders need for a maxFrameBytes message.
 */
export function wsMaxFragments(maxFrameBytes: number, options: Record<string, unknown>): number {
  return maxFragmentsOf(maxFrameBytes, checkOptions('ws', WS_OPTIONS, options));
}

function maxFragmentsOf(maxFrameBytes: number, o: WsOptions): number {
  if (o.maxFragments !== undefined) return o.maxFragments;
  return o.fragmentBytes > 0 ? Math.max(WS_DEFAULT_MAX_FRAGMENTS, Math.ceil(maxFrameBytes / o.fragmentBytes) + 1) : WS_DEFAULT_MAX_FRAGMENTS;
}

const WS_OPTIONS = [
  HANDSHAKE_TIMEOUT_OPTION,
  FRAME_IDLE_TIMEOUT_OPTION,
  { name: 'fragmentBytes', type: 'integer', default: DEFAULT_FRAGMENT_BYTES, min: 0, help: 'sender: largest WebSocket frame a message is split into, in bytes (0 = one frame; Chromium: 131000)' },
  { name: 'maxFragments', type: 'integer', min: 1, help: "receiver: WebSocket frames per message before it is refused (default: the larger of ws's 16384 and what maxFrameBytes needs at fragmentBytes)" },
] as const satisfies readonly OptionSpec[];
type WsOptions = OptionValues<typeof WS_OPTIONS>;

const WS_RECEIVER_STATS = {
  framesReceived: 'number',
  bytesReceived: 'number',
  connections: 'number',
  handshakesRefused: 'number',
  /** Connections dropped for a message left half-sent for frameIdleTimeoutMs. */
  connectionsStalled: 'number',
  pauses: 'number',
  masking: 'text',
  ...WIRE_TAP_STATS,
} as const satisfies StatsShape;

const WS_SENDER_STATS = {
  framesSent: 'number',
  bytesSent: 'number',
  framesDropped: 'number',
  fragmentsSent: 'number',
  fragmentBytes: 'number',
  masking: 'text',
} as const satisfies StatsShape;

/** Constant-time comparison of a request path with the capability path. */
function samePath(url: string | undefined, expected: string): boolean {
  const a = Buffer.from(url ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export type MaskingImpl = 'node' | 'bufferutil' | 'js' | 'none';

/** Which XOR implementation ws picked when it loaded (same rule as ws/lib/buffer-util.js). */
function detectMasking(): MaskingImpl {
  if (typeof (http as unknown as { websocketMask?: unknown }).websocketMask === 'function') return 'node';
  if (process.env.WS_NO_BUFFER_UTIL) return 'js';
  try {
    require('bufferutil');
    return 'bufferutil';
  } catch {
    return 'js';
  }
}
const MASKING: Exclude<MaskingImpl, 'none'> = detectMasking() as Exclude<MaskingImpl, 'none'>;

function zeroMask(mask: Buffer): void {
  mask[0] = mask[1] = mask[2] = mask[3] = 0;
}

interface WsConn {
  ws: WebSocket;
  tap: WireTap;
  outstanding: number;
  paused: boolean;
  errored: boolean;
  idle: IdleWatch;
}

class WsReceiver implements Receiver {
  address = '';
  private readonly sink = new ErrorSink();
  private readonly conns = new Set<WsConn>();
  private readonly tapCounts = newWireTapCounts();
  private handler: FrameHandler | null = null;
  private closing: Promise<void> | null = null;
  private framesReceived = 0;
  private bytesReceived = 0;
  private accepted = 0;
  private pauses = 0;
  /** Handshakes refused: wrong path (no capability), too many connections, or not upgraded in time. */
  refused = 0;
  /** TCP connections not upgraded yet: their handshake deadline. */
  readonly clock: DeadlineClock;
  private stalled = 0;

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly http: http.Server,
    private readonly masking: MaskingImpl,
    private readonly cap: number,
    private readonly o: WsOptions,
  ) {
    this.clock = new DeadlineClock(
      o,
      (socket) => {
        this.refused++;
        socket.destroy();
      },
      () => this.idleTick(),
    );
    wss.on('connection', (ws, req) => this.accept(ws, req));
    wss.on('error', (e) => this.sink.emit(fbError('FB_ERR_PEER_GONE', `ws server error: ${e.message}`)));
    http.on('connection', (socket: Socket) => this.onSocket(socket));
  }

  /** A TCP connection: held (pending its upgrade) unless twice the cap are held already. */
  private onSocket(socket: Socket): void {
    if (this.closing || this.conns.size + this.clock.handshakes >= 2 * this.cap) {
      this.refused++;
      socket.destroy();
      return;
    }
    this.clock.startHandshake(socket);
  }

  /** The message-idle deadline: a connection silent mid-message while it is read is dropped. */
  private idleTick(): void {
    for (const c of this.conns) {
      // paused (a message held, or no handler yet): not the peer's silence
      if (!c.idle.tick(c.tap.chunks, this.handler !== null && !c.paused && c.tap.midMessage, this.clock.idleTicks)) continue;
      c.errored = true; // its close is not reported again as a producer gone mid-message
      this.conns.delete(c);
      this.stalled++;
      this.sink.emit(fbError('FB_ERR_PEER_STALLED', `a ws producer sent part of a message and then nothing for ${this.o.frameIdleTimeoutMs} ms: connection dropped`));
      c.ws.terminate();
    }
  }

  static async create(opts: ReceiverOptions, o: WsOptions, masking: MaskingImpl): Promise<WsReceiver> {
    const maxFragments = maxFragmentsOf(opts.maxFrameBytes, o);
    const capability = `/fb/${randomBytes(16).toString('hex')}`;
    const connectionCap = maxConnections(opts.producers);
    let self: WsReceiver | null = null;
    const verifyClient = (info: { req: http.IncomingMessage }, cb: (ok: boolean, code?: number, message?: string) => void): void => {
      const r = self;
      if (!r || r.closing || !samePath(info.req.url, capability)) {
        if (r) r.refused++;
        cb(false, 403, 'Forbidden');
      } else if (r.conns.size + r.clock.handshakes - 1 >= connectionCap) {
        // upgraded connections and the other handshakes under way (this one is pending too)
        r.refused++;
        cb(false, 503, 'Too many connections');
      } else cb(true);
    };
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { Connection: 'close' }).end(); // only upgrades are served
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `ws server cannot listen on 127.0.0.1: ${e.message}`));
      server.once('error', onError);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const wss = new WebSocketServer({
      server,
      perMessageDeflate: false,
      maxPayload: opts.maxFrameBytes,
      // not in @types/ws 8.18 yet; ws 8.23 caps fragments per message (default 16384)
      ...({ maxFragments } as object),
      skipUTF8Validation: true,
      verifyClient,
    });
    const r = new WsReceiver(wss, server, masking, connectionCap, o);
    r.address = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${capability}`;
    self = r;
    return r;
  }

  private accept(ws: WebSocket, req: http.IncomingMessage): void {
    if (this.closing) {
      ws.terminate();
      return;
    }
    this.accepted++;
    this.clock.endHandshake(req.socket);
    const conn: WsConn = { ws, tap: new WireTap(this.tapCounts).attach(req.socket), outstanding: 0, paused: false, errored: false, idle: new IdleWatch() };
    this.conns.add(conn);
    if (!this.handler) ws.pause();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(conn, data, isBinary));
    ws.on('error', (e: Error & { code?: string }) => {
      conn.errored = true;
      if (this.closing) return;
      this.sink.emit(fbError('FB_ERR_PROTOCOL', `ws: ${e.message}${e.code ? ` (${e.code})` : ''}`));
    });
    ws.on('close', (code: number) => {
      this.conns.delete(conn);
      if (this.closing || conn.errored || !conn.tap.midMessage) return;
      this.sink.emit(fbError('FB_ERR_PEER_GONE', `ws producer closed the connection mid-message (close code ${code})`));
    });
  }

  private onMessage(conn: WsConn, data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      conn.errored = true;
      this.sink.emit(fbError('FB_ERR_PROTOCOL', 'ws: a text message where binary frames were expected'));
      conn.ws.terminate();
      return;
    }
    this.framesReceived++;
    this.bytesReceived += data.byteLength;
    conn.outstanding++;
    let released = false;
    (this.handler as FrameHandler)(data, () => {
      if (released) return;
      released = true;
      conn.outstanding--;
      if (conn.outstanding === 0 && conn.paused && !this.closing) {
        conn.paused = false;
        conn.ws.resume();
      }
    });
    if (!released && !conn.paused) {
      conn.paused = true;
      this.pauses++;
      conn.ws.pause();
    }
  }

  start(handler: FrameHandler): void {
    this.handler = handler;
    for (const c of this.conns) if (!c.paused) c.ws.resume();
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof WS_RECEIVER_STATS> {
    return {
      framesReceived: this.framesReceived,
      bytesReceived: this.bytesReceived,
      connections: this.accepted,
      handshakesRefused: this.refused,
      connectionsStalled: this.stalled,
      pauses: this.pauses,
      masking: this.masking,
      ...wireTapStats(this.tapCounts),
    };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.clock.stop();
        for (const c of this.conns) c.ws.terminate();
        await new Promise<void>((resolve) => this.wss.close(() => resolve()));
        await new Promise<void>((resolve) => this.http.close(() => resolve()));
      })();
    }
    return this.closing;
  }
}

interface Pending {
  resolve(v: boolean): void;
  reject(e: FbError): void;
}

/** What a close code from the receiver means to the producer. */
function closeError(code: number, why: string): FbError {
  if (code === 1009) return fbError('FB_ERR_FRAME_TOO_LARGE', `ws receiver refused a message as too big (close 1009) ${why}`.trim());
  if (code === 1002 || code === 1003 || code === 1007 || code === 1008) return fbError('FB_ERR_PROTOCOL', `ws receiver closed with ${code} ${why}`.trim());
  return fbError('FB_ERR_PEER_GONE', `ws receiver closed the connection (close ${code}) ${why}`.trim());
}

class WsSender implements Sender {
  private readonly sink = new ErrorSink();
  private readonly pending = new Set<Pending>();
  private gone: FbError | null = null;
  private closing: Promise<void> | null = null;
  private lastError = '';
  private framesSent = 0;
  private bytesSent = 0;
  private framesDropped = 0;
  private fragmentsSent = 0;

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: SenderOptions,
    private readonly fragmentBytes: number,
    private readonly masking: MaskingImpl,
  ) {
    ws.on('error', (e) => (this.lastError = e.message));
    ws.on('close', (code: number, reason: Buffer) => {
      const why = [reason.toString(), this.lastError].filter(Boolean).join('; ');
      this.peerGone(closeError(code, why ? `(${why})` : ''));
    });
  }

  /** Once: the connection broke without our close(); fails what is pending and tells onError. */
  private peerGone(err: FbError): void {
    if (this.closing || this.gone) return;
    this.gone = err;
    for (const p of this.pending) p.reject(err);
    this.pending.clear();
    this.ws.terminate();
    this.sink.emit(err);
  }

  static async open(address: string, opts: SenderOptions, fragmentBytes: number, mask: boolean): Promise<WsSender> {
    if (!ADDRESS_RE.test(address)) {
      throw fbError('FB_ERR_INTERNAL', `not a ws transport address: '${address}'`);
    }
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const w = new WebSocket(address, {
        perMessageDeflate: false,
        maxPayload: opts.maxFrameBytes,
        skipUTF8Validation: true,
        ...(mask ? {} : { generateMask: zeroMask }),
      });
      const onError = (e: Error) => {
        w.terminate();
        reject(fbError('FB_ERR_PEER_GONE', `no ws receiver at ${address}: ${e.message}`));
      };
      w.once('error', onError);
      w.once('open', () => {
        w.off('error', onError);
        resolve(w);
      });
    });
    return new WsSender(ws, opts, fragmentBytes, mask ? MASKING : 'none');
  }

  send(frame: Uint8Array): Promise<boolean> {
    if (this.gone) return Promise.reject(this.gone);
    if (this.closing) return Promise.reject(fbError('FB_ERR_INTERNAL', 'ws: send after close'));
    if (frame.byteLength > this.opts.maxFrameBytes) {
      return Promise.reject(frameTooLarge(frame.byteLength, this.opts.maxFrameBytes));
    }
    if (this.opts.policy === 'drop' && this.ws.bufferedAmount > 0) {
      this.framesDropped++;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      this.pending.add(p);
      const done = (err?: Error) => {
        if (!this.pending.delete(p)) return;
        if (err) {
          reject(this.gone ?? fbError('FB_ERR_PEER_GONE', `ws: send failed: ${err.message}`));
          this.peerGone(fbError('FB_ERR_PEER_GONE', `ws: send failed: ${err.message}`));
          return;
        }
        this.framesSent++;
        this.bytesSent += frame.byteLength;
        resolve(true);
      };
      const onlyErrors = (err?: Error) => {
        if (err) done(err);
      };
      const total = frame.byteLength;
      const step = this.fragmentBytes > 0 ? this.fragmentBytes : total;
      if (step >= total) {
        this.fragmentsSent++;
        this.ws.send(frame, { binary: true, fin: true, compress: false }, done);
        return;
      }
      for (let off = 0; off < total; off += step) {
        const end = Math.min(off + step, total);
        const last = end === total;
        this.fragmentsSent++;
        this.ws.send(frame.subarray(off, end), { binary: true, fin: last, compress: false }, last ? done : onlyErrors);
      }
    });
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof WS_SENDER_STATS> {
    return {
      framesSent: this.framesSent,
      bytesSent: this.bytesSent,
      framesDropped: this.framesDropped,
      fragmentsSent: this.fragmentsSent,
      fragmentBytes: this.fragmentBytes,
      masking: this.masking,
    };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        const ws = this.ws;
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        const timer = setTimeout(() => ws.terminate(), 2000);
        timer.unref();
        ws.once('close', () => {
          clearTimeout(timer);
          for (const p of this.pending) p.reject(fbError('FB_ERR_PEER_GONE', 'ws: closed before the frame was written'));
          this.pending.clear();
          resolve();
        });
        ws.close(1000);
      });
    }
    return this.closing;
  }
}

function makeWsTransport(name: string, mask: boolean, description: string): Transport {
  return defineTransport({
    name,
    description,
    capabilities: { compliant: mask },
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    options: WS_OPTIONS,
    stats: { receiver: WS_RECEIVER_STATS, sender: WS_SENDER_STATS },
    rawInput: {
      grammar: 'websocket',
      target: (address) => ({ kind: 'websocket', url: address }),
      limits: (maxFrameBytes) => ({ maxFragments: wsMaxFragments(maxFrameBytes, {}) }),
    },
    unavailableReason: () => null,
    createReceiver: (opts, o) => WsReceiver.create(opts, o, mask ? MASKING : 'none'),
    openSender: (address, opts, o) => WsSender.open(address, opts, o.fragmentBytes, mask),
  });
}

export const wsTransport: Transport = makeWsTransport(
  'ws',
  true,
  'WebSocket, ws client -> ws server on 127.0.0.1: masked like a browser, one binary message per frame fragmented at fragmentBytes (default 131000, as Chromium), deflate off',
);

export const wsNoMaskTransport: Transport = makeWsTransport(
  'ws-nomask',
  false,
  'WebSocket with an all-zero mask so ws skips the XOR: NOT spec-compliant, only to isolate the cost of masking',
);
