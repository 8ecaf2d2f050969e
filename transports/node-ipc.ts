import { randomBytes } from 'node:crypto';
import { fbError, type FbError } from '../core/errors';
import type { ErrorHandler, FrameHandler, Receiver, ReceiverOptions, Sender, SenderOptions, StatsOf, StatsShape } from './types';
import { sendToPort, type HostChannel, type HostPort } from './host-ports';
import { ErrorSink, frameOverLimit, frameTooLarge } from './common';
import { defineTransport } from './define';

/**
 * Node's own child_process IPC channel with `serialization: 'advanced'` (the V8 serializer),
 * one message per frame carrying it as a Uint8Array. The channel exists only between a parent
 * and the child it forked, so this transport has topology 'consumer-forks-producers': the
 * consumer process forks the producers (harness/producer-host.ts) and its receiver listens on
 * their channels, which the host adds to the HostChannel it passes in ReceiverOptions.host
 * (transports/host-ports.ts); the producer's sender uses its own channel, `process.send`.
 *
 * Messages (all carry the receiver's address, so two receivers never cross-deliver):
 *   sender -> receiver  {fbipc, hello: producerId} | {fbipc, p, f: Uint8Array} | {fbipc, bye}
 *   receiver -> sender  {fbipcWelcome} | {fbipcAck: n} | {fbipcClosed}
 * Flow control: the receiving Node reads its channel eagerly and cannot pause it, so the
 * receiver grants credits: at most WINDOW frames unacknowledged per sender (an ack follows
 * each release()). Policy 'drop': no credit = dropped.
 * Copies: the V8 serializer copies the frame into the message, the kernel copies it through
 * the socketpair twice, the receiving side assembles it from ~64 KiB reads and the
 * deserializer copies it into a new Uint8Array.
 * Peer gone: the sender sees 'disconnect' or {fbipcClosed}; the receiver sees a channel that
 * said hello close without bye. Nothing to clean up in the run directory.
 */
const PREFIX = 'node-ipc:';
const WINDOW = 2;

const IPC_RECEIVER_STATS = { framesReceived: 'number', bytesReceived: 'number', connections: 'number', maxQueued: 'number' } as const satisfies StatsShape;
const IPC_SENDER_STATS = { framesSent: 'number', framesDropped: 'number', creditWaits: 'number' } as const satisfies StatsShape;

interface Msg {
  fbipc?: string;
  hello?: number;
  p?: number;
  f?: Uint8Array;
  bye?: boolean;
  fbipcWelcome?: string;
  fbipcAck?: string;
  n?: number;
  fbipcClosed?: string;
}

interface Queued {
  port: HostPort;
  frame: Uint8Array;
}

class IpcReceiver implements Receiver {
  readonly address = PREFIX + randomBytes(8).toString('hex');
  private readonly sink = new ErrorSink();
  private readonly attached = new Set<HostPort>();
  private readonly said = new Set<HostPort>();
  private readonly queue: Queued[] = [];
  private readonly detach: Array<() => void> = [];
  private handler: FrameHandler | null = null;
  private delivering = false;
  private closing: Promise<void> | null = null;
  private framesReceived = 0;
  private bytesReceived = 0;
  private maxQueued = 0;

  constructor(private readonly opts: ReceiverOptions, host: HostChannel) {
    this.detach.push(host.eachPort((port) => this.listen(port)));
  }

  private listen(port: HostPort): void {
    const onMessage = (raw: unknown): void => {
      const m = raw as Msg;
      if (this.closing || typeof m !== 'object' || m === null || m.fbipc !== this.address) return;
      if (m.hello !== undefined) {
        this.attached.add(port);
        sendToPort(port, { fbipcWelcome: this.address });
      } else if (m.bye) {
        this.said.add(port);
      } else if (!(m.f instanceof Uint8Array)) {
        this.sink.emit(fbError('FB_ERR_PROTOCOL', 'node-ipc message without a frame (is the channel\'s serialization \'advanced\'?)'));
      } else if (m.f.byteLength > this.opts.maxFrameBytes) {
        this.sink.emit(frameOverLimit(m.f.byteLength, this.opts.maxFrameBytes));
        this.ack(port);
      } else {
        this.framesReceived++;
        this.bytesReceived += m.f.byteLength;
        this.queue.push({ port, frame: m.f });
        this.maxQueued = Math.max(this.maxQueued, this.queue.length);
        this.pump();
      }
    };
    const onGone = (): void => {
      if (this.closing || !this.attached.has(port) || this.said.has(port)) return;
      this.said.add(port); // report once
      this.sink.emit(fbError('FB_ERR_PEER_GONE', 'a producer\'s IPC channel closed without saying bye (producer died?)'));
    };
    port.on('message', onMessage);
    port.on('disconnect', onGone);
    this.detach.push(() => {
      port.off('message', onMessage);
      port.off('disconnect', onGone);
    });
  }

  private ack(port: HostPort): void {
    sendToPort(port, { fbipcAck: this.address, n: 1 });
  }

  private pump(): void {
    if (this.delivering || !this.handler || this.closing) return;
    const next = this.queue.shift();
    if (!next) return;
    this.delivering = true;
    let released = false;
    this.handler(next.frame, () => {
      if (released) return;
      released = true;
      this.delivering = false;
      this.ack(next.port);
      this.pump();
    });
  }

  start(handler: FrameHandler): void {
    this.handler = handler;
    this.pump();
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof IPC_RECEIVER_STATS> {
    return { framesReceived: this.framesReceived, bytesReceived: this.bytesReceived, connections: this.attached.size, maxQueued: this.maxQueued };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        for (const port of this.attached) sendToPort(port, { fbipcClosed: this.address });
        for (const d of this.detach) d();
        this.queue.length = 0;
      })();
    }
    return this.closing;
  }
}

class IpcSender implements Sender {
  private readonly sink = new ErrorSink();
  private readonly waiting: Array<() => void> = [];
  private inFlight = 0;
  private gone: FbError | null = null;
  private closing: Promise<void> | null = null;
  private framesSent = 0;
  private framesDropped = 0;
  private creditWaits = 0;
  private readonly onMessage = (raw: unknown): void => {
    const m = raw as Msg;
    if (typeof m !== 'object' || m === null) return;
    if (m.fbipcAck === this.address) {
      this.inFlight -= m.n ?? 1;
      while (this.inFlight < WINDOW && this.waiting.length > 0) {
        this.inFlight++;
        (this.waiting.shift() as () => void)();
      }
    } else if (m.fbipcClosed === this.address) {
      this.peerGone('receiver closed');
    }
  };
  private readonly onDisconnect = (): void => this.peerGone('the consumer\'s IPC channel closed');

  constructor(private readonly address: string, private readonly opts: SenderOptions) {
    process.on('message', this.onMessage);
    process.on('disconnect', this.onDisconnect);
  }

  private peerGone(why: string): void {
    if (this.gone) return;
    this.gone = fbError('FB_ERR_PEER_GONE', `node-ipc: ${why}`);
    for (const w of this.waiting.splice(0)) w(); // sends waiting for a credit reject (also during close())
    if (!this.closing) this.sink.emit(this.gone);
  }

  private post(msg: Msg): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!process.connected || !process.send) return reject(this.gone ?? fbError('FB_ERR_PEER_GONE', 'node-ipc: channel closed'));
      process.send(msg, undefined, {}, (err) => (err ? reject(fbError('FB_ERR_PEER_GONE', `node-ipc: send failed: ${err.message}`)) : resolve()));
    });
  }

  async send(frame: Uint8Array): Promise<boolean> {
    if (this.gone) throw this.gone;
    if (this.closing) throw fbError('FB_ERR_INTERNAL', 'node-ipc: send after close');
    if (frame.byteLength > this.opts.maxFrameBytes) throw frameTooLarge(frame.byteLength, this.opts.maxFrameBytes);
    if (this.inFlight >= WINDOW || this.waiting.length > 0) {
      if (this.opts.policy === 'drop') {
        this.framesDropped++;
        return false;
      }
      this.creditWaits++;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.gone) throw this.gone;
    } else {
      this.inFlight++;
    }
    try {
      await this.post({ fbipc: this.address, p: this.opts.producerId, f: frame });
    } catch (e) {
      this.peerGone((e as Error).message);
      throw this.gone ?? e;
    }
    this.framesSent++;
    return true;
  }

  onError(handler: ErrorHandler): void {
    this.sink.add(handler);
  }

  stats(): StatsOf<typeof IPC_SENDER_STATS> {
    return { framesSent: this.framesSent, framesDropped: this.framesDropped, creditWaits: this.creditWaits };
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (!this.gone) await this.post({ fbipc: this.address, bye: true }).catch(() => undefined);
        process.off('message', this.onMessage);
        process.off('disconnect', this.onDisconnect);
        // no credit can come any more: a send still waiting for one is refused, not left pending
        this.peerGone('sender closed before the frame was sent');
      })();
    }
    return this.closing;
  }
}

export const nodeIpcTransport = defineTransport({
  name: 'node-ipc',
  description: "Node's child_process IPC channel (serialization 'advanced'), the consumer forks the producers; one message per frame",
  // the child writes its channel with write() (counted); the parent's libuv reads it with recvmsg() (not counted)
  capabilities: { topology: 'consumer-forks-producers', kernelCopiesVisible: { sender: true, receiver: false } },
  maxFrameBytes: 256 * 1024 * 1024,
  options: [],
  stats: { receiver: IPC_RECEIVER_STATS, sender: IPC_SENDER_STATS },
  rawInput: { grammar: 'node-ipc', target: (address) => ({ kind: 'host-channel', address }) },
  unavailableReason: () => null,

  async createReceiver(opts) {
    if (!opts.host) throw fbError('FB_ERR_INTERNAL', 'node-ipc: the receiver needs the channel of the process that forks the producers (ReceiverOptions.host)');
    return new IpcReceiver(opts, opts.host);
  },

  async openSender(address, opts) {
    if (!address.startsWith(PREFIX)) throw fbError('FB_ERR_INTERNAL', `not a node-ipc transport address: '${address}'`);
    if (!process.send || !process.connected) {
      throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', 'node-ipc: the sender must run in a process forked by the consumer (no IPC channel to a parent)');
    }
    const s = new IpcSender(address, opts);
    const welcome = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        process.off('message', on);
        reject(fbError('FB_ERR_PEER_GONE', `node-ipc: no receiver ${address} answered within 5 s`));
      }, 5000);
      const on = (m: Msg): void => {
        if (m && m.fbipcWelcome === address) {
          clearTimeout(timer);
          process.off('message', on);
          resolve();
        }
      };
      process.on('message', on);
    });
    process.send({ fbipc: address, hello: opts.producerId });
    try {
      await welcome;
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  },
});
