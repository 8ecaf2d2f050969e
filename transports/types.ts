import type { FbError } from '../core/errors';

/**
 * The transport plug-in point. One adapter per file in `transports/`, registered in
 * `transports/registry.ts`; every adapter passes the one conformance suite
 * (`test/conformance.test.ts`) and runs every scenario unchanged.
 *
 * Contract:
 * - The **receiver creates**, the **sender opens**: the consumer process calls
 *   `createReceiver`, which binds/creates whatever the transport needs inside
 *   `opts.runDir` (a private 0700 directory unique to this run) or on 127.0.0.1 with an
 *   ephemeral port, and publishes an opaque `address` string. Producer processes call
 *   `openSender(address)`. Two runs in parallel never collide.
 * - Frames arrive **whole** (exactly the bytes sent, header included) and **in order per
 *   producer**. Frames of different producers may interleave.
 * - A frame view handed to the receiver's handler is valid until its `release()` is called;
 *   the transport may reuse that memory afterwards. The handler must call `release()` once.
 * - `send(frame)` resolves when the caller may reuse `frame`'s memory; it resolves to
 *   `false` only when the transport's backpressure policy is `drop` and the frame was
 *   dropped (every drop is counted by the caller, never silent). Under `drop`, a frame the
 *   transport accepted may still resolve late (a stream socket's kernel buffers took part of
 *   it and wait for the receiver to read); the sends after it drop meanwhile.
 * - Zero-copy transports (`capabilities.zeroCopy`) also offer `loan(bytes)`: a writable view
 *   of the transport's own memory; the producer writes the frame there and calls
 *   `commit()`. `send` stays available as the explicit copying path.
 * - The **sender learns when the receiver is gone** (and the receiver when a sender dies
 *   mid-frame): `onError` is called with `FB_ERR_PEER_GONE`; malformed data gives
 *   `FB_ERR_PROTOCOL` (or `FB_ERR_RING_CORRUPT`). A transport never throws raw errors.
 * - `close()` releases every resource (sockets, socket files, shared memory) and is
 *   idempotent. Resources are also released when the process dies (see each adapter).
 */
export interface TransportCapabilities {
  /** Offers loan()/commit(): the producer writes the frame in place. Default false. */
  zeroCopy: boolean;
  /** Both ends live in one process (worker threads). Default false. */
  inProcess: boolean;
  /** Needs a server process besides producer and consumer. Default false. */
  needsServer: boolean;
  /** Conforms to its protocol's spec (ws-nomask does not). Default true. */
  compliant: boolean;
  /**
   * Where the producers run. Default 'separate': every producer is a process forked by the
   * coordinator. 'consumer-forks-producers': the consumer process forks them (their IPC channel
   * is the data path; control messages are relayed by the consumer). 'consumer-threads': they
   * are worker threads of the consumer process (set inProcess too). The conformance kit gives
   * hosted senders the same topology (see test/support/transport-kit.ts).
   */
  topology?: 'separate' | 'consumer-forks-producers' | 'consumer-threads';
}

export const DEFAULT_CAPABILITIES: TransportCapabilities = {
  zeroCopy: false,
  inProcess: false,
  needsServer: false,
  compliant: true,
};

export type { BackpressurePolicy, TransportStats } from '../core/case';
import type { BackpressurePolicy, TransportStats } from '../core/case';

export interface ReceiverOptions {
  /** Private directory (mode 0700) unique to this run: socket files go here. */
  runDir: string;
  /** Largest frame (header + payload) the receiver accepts; larger is FB_ERR_PROTOCOL. */
  maxFrameBytes: number;
  /** Producers that will connect. */
  producers: number;
  /** Backpressure policy when the consumer is behind. */
  policy: BackpressurePolicy;
  /** Transport-specific knobs (e.g. `fragmentBytes` for ws, `ringBytes` for shm). */
  options: Record<string, unknown>;
}

export interface SenderOptions {
  producerId: number;
  maxFrameBytes: number;
  policy: BackpressurePolicy;
  options: Record<string, unknown>;
}

/** Called once per frame with a view of exactly the frame's bytes. */
export type FrameHandler = (frame: Uint8Array, release: () => void) => void;
export type ErrorHandler = (err: FbError) => void;

export interface Receiver {
  /** Opaque string the senders open (socket path, URL, segment name). */
  readonly address: string;
  /** Starts delivering frames to `handler`. */
  start(handler: FrameHandler): void;
  onError(handler: ErrorHandler): void;
  stats(): TransportStats;
  /** Pid of a server process the receiver started (redis): its CPU is measured as a third side. */
  readonly serverPid?: number;
  close(): Promise<void>;
}

export interface Loan {
  /** Writable view of exactly `bytes` bytes inside the transport's memory. */
  readonly view: Uint8Array;
  /** Publishes the frame. */
  commit(): Promise<void>;
}

export interface Sender {
  /** Copying path. Resolves when `frame` may be reused; `false` = dropped by policy. */
  send(frame: Uint8Array): Promise<boolean>;
  /** Zero-copy path (only when capabilities.zeroCopy). `null` = dropped by policy. */
  loan?(bytes: number): Promise<Loan | null>;
  onError(handler: ErrorHandler): void;
  stats(): TransportStats;
  close(): Promise<void>;
}

export interface Transport {
  readonly name: string;
  /** One line for `bench list`. */
  readonly description: string;
  readonly capabilities: TransportCapabilities;
  /** Largest frame (header + payload) this transport carries by default. */
  readonly maxFrameBytes: number;
  /** null when it can run here now, else the reason it cannot (and how to fix it). */
  unavailableReason(): string | null;
  createReceiver(opts: ReceiverOptions): Promise<Receiver>;
  openSender(address: string, opts: SenderOptions): Promise<Sender>;
}
