import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fbError, type FbError } from '../core/errors';
import type { ErrorHandler, FrameHandler, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, StatsShape } from './types';
import { DEFAULT_MAX_FRAME_BYTES, ErrorSink, frameOverLimit, frameTooLarge, HANDSHAKE_TIMEOUT_OPTION, maxConnections } from './common';
import { joinGate, leaveGate } from './zeromq-gate';
import { defineTransport } from './define';

/**
 * ZeroMQ PUSH (each producer) -> PULL (the consumer) over `ipc://<runDir>/...`, one ZeroMQ
 * message per frame (libzmq frames it: messages arrive whole or not at all). Address:
 * `zeromq:<the receiver's maxFrameBytes>@ipc://<absolute path>` (a sender refuses a bigger frame
 * itself, FB_ERR_FRAME_TOO_LARGE).
 *
 * Copies: zeromq.js sends a Buffer zero-copy (libzmq keeps a reference until its I/O thread
 * wrote it) and gives no completion signal, so `send` cannot resolve "frame reusable" for the
 * caller's buffer: the adapter hands libzmq its own copy (one user-space copy per frame, in
 * `bytesCopied`). Received messages are wrapped without a copy.
 * Backpressure: send/receive high-water marks of a few messages; policy 'drop' uses a send
 * timeout of 0 (EAGAIN = dropped). zeromq.js allows one send in flight per socket, so sends
 * are chained.
 * Peer gone: the PUSH socket's monitor reports 'disconnect' when the PULL end closes.
 * A sender that dies mid-message is invisible to the receiver (libzmq drops the partial
 * message): frames stay whole; the harness sees the process exit.
 * Cleanup: the PULL socket unbinds (libzmq unlinks the socket file); close() also removes it.
 * Stray peers: the PULL socket sets a ZAP domain of its own (libzmq then refuses ZMTP 1.0/2.0
 * peers) and `maxMessageSize` = maxFrameBytes (libzmq drops a connection announcing a bigger
 * message before buffering it). It holds at most producers + SPARE_CONNECTIONS connections,
 * handshakes under way included (counted in /proc/net/unix): the process's ZAP handler
 * (zeromq-gate.ts) denies the rest
 * (counted in `connectionsRefused`), and libzmq closes a handshake unfinished after
 * `handshakeTimeoutMs`.
 */
const PREFIX = 'zeromq:';
const IPC = 'ipc://';
const HWM = 4;
/** How long close() waits for a send that is blocked before it closes the socket under it. */
const CLOSE_WAIT_MS = 2000;
let seq = 0;

const ZMQ_OPTIONS = [HANDSHAKE_TIMEOUT_OPTION] as const;
const ZMQ_RECEIVER_STATS = { framesReceived: 'number', bytesReceived: 'number', framesRefused: 'number', connections: 'number', connectionsRefused: 'number' } as const satisfies StatsShape;
const ZMQ_SENDER_STATS = { framesSent: 'number', framesDropped: 'number', bytesCopied: 'number' } as const satisfies StatsShape;

/** What an address names: `zeromq:<receiver's maxFrameBytes>@ipc://<socket file>`. */
function parseAddress(address: string): { file: string; maxFrameBytes: number } {
  const m = /^zeromq:(\d{1,15})@ipc:\/\/(\/.*)$/s.exec(address);
  if (!m || !(Number(m[1]) > 0)) throw fbError('FB_ERR_INTERNAL', `not a zeromq transport address: '${address}'`);
  return { file: m[2], maxFrameBytes: Number(m[1]) };
}

/** The ipc:// socket file behind an address. */
function socketFile(address: string): string {
  return parseAddress(address).file;
}

/** Connected stream sockets bound to `file` (the accepted ends), from /proc/net/unix; null if unreadable. */
function connectedTo(file: string): number | null {
  let table: string;
  try {
    table = fs.readFileSync('/proc/net/unix', 'latin1');
  } catch {
    return null;
  }
  let n = 0;
  // Num RefCount Protocol Flags Type St Inode Path: St 03 = connected
  for (const line of table.split('\n')) {
    if (!line.endsWith(file)) continue;
    const f = line.split(/\s+/);
    if (f[5] === '03' && f.slice(7).join(' ') === file) n++;
  }
  return n;
}

type Zmq = typeof import('zeromq');
let zmq: Zmq | null = null;
let loadError: string | null = null;

function load(): Zmq {
  if (zmq) return zmq;
  try {
     
    zmq = require('zeromq') as Zmq;
    return zmq;
  } catch (e) {
    loadError = (e as Error).message.split('\n')[0];
    throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `zeromq does not load: ${loadError} (npm install zeromq@6)`);
  }
}

class ZmqReceiver implements Receiver {
  readonly address: string;
  private readonly sink = new ErrorSink();
  private handler: FrameHandler | null = null;
  private closing: Promise<void> | null = null;
  private framesReceived = 0;
  private bytesReceived = 0;
  private refused = 0;
  private connections = 0;
  private disconnections = 0;
  private connectionsRefused = 0;

  constructor(
    private readonly pull: import('zeromq').Pull,
    private readonly file: string,
    private readonly opts: ReceiverOptions,
    private readonly domain: string,
  ) {
    this.address = `${PREFIX}${opts.maxFrameBytes}@${IPC}${file}`;
    pull.events.on('accept', () => this.connections++);
    pull.events.on('disconnect', () => this.disconnections++);
  }

  /**
   * The gate's question for one handshake: admitted while the connections held (this one and
   * handshakes under way included) fit the cap. Counted by the kernel (/proc/net/unix: accepted
   * sockets carry the listener's path), not from the monitor's accept events, which can reach JS
   * after the handshake's ZAP request: a burst would then be admitted beyond the cap.
   */
  admit(): boolean {
    const held = connectedTo(this.file) ?? this.connections - this.disconnections;
    if (!this.closing && held <= maxConnections(this.opts.producers)) return true;
    this.connectionsRefused++;
    return false;
  }

  start(handler: FrameHandler): void {
    if (this.handler) return;
    this.handler = handler;
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      let msg: Buffer;
      try {
        [msg] = await this.pull.receive();
      } catch (e) {
        if (!this.closing) this.sink.emit(fbError('FB_ERR_PEER_GONE', `zeromq receive failed: ${(e as Error).message}`));
        return;
      }
      if (msg.byteLength > this.opts.maxFrameBytes) {
        this.refused++;
        this.sink.emit(frameOverLimit(msg.byteLength, this.opts.maxFrameBytes));
        continue;
      }
      this.framesReceived++;
      this.bytesReceived += msg.byteLength;
      await new Promise<void>((resolve) => {
        let released = false;
        (this.handler as FrameHandler)(msg, () => {
          if (released) return;
          released = true;
          resolve();
        });
      });
    }
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof ZMQ_RECEIVER_STATS> {
    return { framesReceived: this.framesReceived, bytesReceived: this.bytesReceived, framesRefused: this.refused, connections: this.connections, connectionsRefused: this.connectionsRefused };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.pull.close();
        leaveGate(this.domain);
        fs.rmSync(this.file, { force: true });
      })();
    }
    return this.closing;
  }
}

class ZmqSender implements Sender {
  private readonly sink = new ErrorSink();
  private chain: Promise<unknown> = Promise.resolve();
  private gone: FbError | null = null;
  private closing: Promise<void> | null = null;
  private framesSent = 0;
  private bytesCopied = 0;
  private framesDropped = 0;

  constructor(private readonly push: import('zeromq').Push, private readonly opts: SenderOptions, private readonly label: string) {
    push.events.on('disconnect', () => this.peerGone('receiver disconnected'));
  }

  private peerGone(why: string): void {
    if (this.gone) return;
    this.gone = fbError('FB_ERR_PEER_GONE', `${this.label}: ${why}`);
    if (!this.push.closed) this.push.close(); // a blocked send rejects (also during close(), which awaits it)
    if (!this.closing) this.sink.emit(this.gone);
  }

  send(frame: Uint8Array): Promise<boolean> {
    if (this.gone) return Promise.reject(this.gone);
    if (this.closing) return Promise.reject(fbError('FB_ERR_INTERNAL', `${this.label}: send after close`));
    if (frame.byteLength > this.opts.maxFrameBytes) {
      return Promise.reject(frameTooLarge(frame.byteLength, this.opts.maxFrameBytes));
    }
    // libzmq keeps a reference to what it sends: give it a buffer nobody reuses
    const own = Buffer.allocUnsafeSlow(frame.byteLength);
    own.set(frame);
    this.bytesCopied += frame.byteLength;
    const p = this.chain.then(async () => {
      if (this.gone) throw this.gone;
      try {
        await this.push.send(own);
      } catch (e) {
        const err = e as { code?: string; message: string };
        if (err.code === 'EAGAIN' && this.opts.policy === 'drop') {
          this.framesDropped++;
          return false;
        }
        throw this.gone ?? fbError('FB_ERR_PEER_GONE', `${this.label}: send failed: ${err.code ?? err.message}`);
      }
      this.framesSent++;
      return true;
    });
    this.chain = p.catch(() => undefined);
    return p;
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof ZMQ_SENDER_STATS> {
    return { framesSent: this.framesSent, framesDropped: this.framesDropped, bytesCopied: this.bytesCopied };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        // Queued sends finish first; one blocked on a receiver that stopped reading (alive, or
        // gone without a 'disconnect' yet) is given CLOSE_WAIT_MS, then closing the socket rejects it.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_WAIT_MS);
        });
        await Promise.race([this.chain, late]);
        clearTimeout(timer);
        if (!this.push.closed) this.push.close(); // linger flushes what was queued
        await this.chain;
      })();
    }
    return this.closing;
  }
}

export const zeromqTransport = defineTransport({
  name: 'zeromq',
  description: 'ZeroMQ PUSH/PULL over ipc:// in the run directory (zeromq.js v6), one message per frame',
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  options: ZMQ_OPTIONS,
  // libzmq moves bytes with send()/recv(): /proc/<pid>/io sees neither end's kernel copies
  capabilities: { kernelCopiesVisible: { sender: false, receiver: false } },
  stats: { receiver: ZMQ_RECEIVER_STATS, sender: ZMQ_SENDER_STATS },
  rawInput: { grammar: 'zmtp', target: (address) => ({ kind: 'socket', connect: { path: socketFile(address) } }) },
  unavailableReason() {
    try {
      load();
      return null;
    } catch {
      return `the zeromq package does not load: ${loadError} (npm install zeromq@6)`;
    }
  },

  async createReceiver(opts, o) {
    const z = load();
    const id = `${process.pid}-${++seq}-${randomBytes(4).toString('hex')}`;
    const file = path.resolve(opts.runDir, `fb-zmq-${id}.ipc`);
    // A ZAP domain makes libzmq refuse unversioned (ZMTP 1.0) and ZMTP 2.0 peers in the handshake,
    // so raw bytes written to the socket are no longer delivered as messages. ZMTP 3 peers with the
    // NULL mechanism are asked about at the gate (zeromq-gate.ts), by this receiver's own domain.
    const domain = `framebench-${id}`;
    const pull = new z.Pull({
      receiveHighWaterMark: HWM,
      linger: 0,
      zapDomain: domain,
      maxMessageSize: opts.maxFrameBytes,
      handshakeInterval: o.handshakeTimeoutMs,
    });
    const rx = new ZmqReceiver(pull, file, opts, domain);
    try {
      await joinGate(z, domain, { admit: () => rx.admit() });
      await pull.bind(IPC + file);
    } catch (e) {
      pull.close();
      leaveGate(domain);
      throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `zeromq cannot bind ipc://${file}: ${(e as Error).message}`);
    }
    return rx;
  },

  async openSender(address, opts) {
    const z = load();
    const { file, maxFrameBytes } = parseAddress(address);
    // an honest sender refuses what the receiver's libzmq would drop with the connection
    const limit = Math.min(opts.maxFrameBytes, maxFrameBytes);
    const endpoint = IPC + file;
    if (!fs.existsSync(file)) throw fbError('FB_ERR_PEER_GONE', `no receiver at ${endpoint}`);
    const push = new z.Push({ sendHighWaterMark: HWM, linger: 2000, ...(opts.policy === 'drop' ? { sendTimeout: 0 } : {}) });
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(fbError('FB_ERR_PEER_GONE', `no receiver at ${endpoint} within 5 s`)), 5000);
      push.events.on('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    push.connect(endpoint);
    try {
      await connected;
    } catch (e) {
      push.close();
      throw e;
    }
    return new ZmqSender(push, { ...opts, maxFrameBytes: limit }, `zeromq ${path.basename(file)}`);
  },
});
