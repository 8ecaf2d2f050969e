import type { FbError } from '../core/errors';

/**
 * The transport plug-in point. One adapter per file in `transports/` (or folder: `shm/`,
 * `stream/`), made with `defineTransport()` (define.ts) and registered in
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
 *   `commit()` to publish it, or `abort()` to give the memory back unpublished (nothing
 *   arrives; the next loan or send goes on). `send` stays available as the explicit copying path.
 * - The **sender learns when the receiver is gone** (and the receiver when a sender dies
 *   mid-frame): `onError` is called with `FB_ERR_PEER_GONE`; malformed data gives
 *   `FB_ERR_PROTOCOL` (or `FB_ERR_RING_CORRUPT`). A transport never throws raw errors.
 * - **Options are declared** (`options`: name, type, default, help) and checked before an end
 *   is made (options.ts `checkOptions`): an unknown option, or a value of the wrong type, is
 *   refused with `FB_ERR_CONFIG` naming the transport and the option; for a number option, a
 *   value that is not a number in its range is `FB_ERR_BAD_NUMBER`, as on the command line.
 * - **Stats are declared** (`stats`: the shape each end's `stats()` returns, exactly); the
 *   stats with one meaning across transports are typed in core/case.ts (`SharedStats`).
 * - The **hosted topologies' channel** (producers forked or threaded by the consumer) comes in
 *   the options (`ReceiverOptions.host`, `SenderOptions.host`), never through module state.
 * - `close()` releases every resource (sockets, socket files, shared memory) and is
 *   idempotent. Resources are also released when the process dies (see each adapter);
 *   what a killed run can still leave behind (shared-memory segments), `cleanupOrphans()` removes.
 * - Every transport says how a hostile local process **writes raw bytes** to its receiver
 *   (`rawInput`, for the torture suite); only in-process transports may instead be named in
 *   registry.ts `NO_RAW_INPUT`, with the reason.
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
  /**
   * Whether /proc/<pid>/io (rchar/wchar) sees the kernel's copies of each end: it counts the
   * read/write family, not sendmsg/recvmsg/sendto/recvfrom. Default both true; where false the
   * reports say 'not measured' instead of showing ~0 kernel bytes.
   */
  kernelCopiesVisible?: { sender: boolean; receiver: boolean };
}

export const DEFAULT_CAPABILITIES: TransportCapabilities = {
  zeroCopy: false,
  inProcess: false,
  needsServer: false,
  compliant: true,
};

export type { BackpressurePolicy, TransportStats } from '../core/case';
import type { BackpressurePolicy, TransportStats } from '../core/case';
import type { HostChannel } from './host-ports';
export type { HostChannel } from './host-ports';

// ---- options ----

/**
 * One option a transport takes (`ReceiverOptions.options` / `SenderOptions.options`, from
 * the config's `transportOptions.<name>`). Checked by options.ts `checkOptions`: an unknown
 * name or a value of another type is FB_ERR_CONFIG; for 'integer'/'number', a value that is not
 * a finite number, not whole, or outside [min, max] is FB_ERR_BAD_NUMBER (like every number
 * on the command line).
 */
export interface OptionSpec {
  readonly name: string;
  readonly type: 'integer' | 'number' | 'boolean' | 'string';
  /** The value when the option is not set; absent: the transport computes it (help says how). */
  readonly default?: number | boolean | string;
  readonly min?: number;
  readonly max?: number;
  /** One line: what it does, its unit, which end reads it. */
  readonly help: string;
}

type OptionValue<T extends OptionSpec['type']> = T extends 'boolean' ? boolean : T extends 'string' ? string : number;

/** The checked options of a transport declaring `S`, by name (undefined: not set, no default). */
export type OptionValues<S extends readonly OptionSpec[]> = {
  readonly [O in S[number] as O['name']]: O extends { readonly default: number | boolean | string } ? OptionValue<O['type']> : OptionValue<O['type']> | undefined;
};

// ---- stats ----

/** The kind of one stat: a number (a count, bytes, µs) or a text label. */
export type StatKind = 'number' | 'text';
/** One end's stats, by name: `stats()` returns exactly these keys, of these kinds. */
export type StatsShape = Readonly<Record<string, StatKind>>;
/** The object a `stats()` with shape `S` returns. */
export type StatsOf<S extends StatsShape> = { -readonly [K in keyof S]: S[K] extends 'text' ? string : number };

// ---- raw input (the torture suite) ----

/** What the bytes on a receiver's data path speak; picks the torture suite's set of bad inputs. */
export type RawGrammar = 'fbs1' | 'websocket' | 'zmtp' | 'resp' | 'node-ipc' | 'shm-ring';

/** Where a hostile local process writes to a receiver, worked out from its address. */
export type RawTarget =
  /**
   * A stream socket to connect to; `streams`: where in the server a producer's frames go (redis);
   * `preamble`: what a producer given this address writes first (redis: its login as producer 0).
   */
  | {
      readonly kind: 'socket';
      readonly connect: { readonly path: string } | { readonly host: string; readonly port: number };
      readonly streams?: readonly string[];
      readonly preamble?: Uint8Array;
    }
  /** FIFOs to open for writing (one per producer). */
  | { readonly kind: 'fifo'; readonly files: readonly string[] }
  /** A WebSocket URL (the handshake is written by hand, or replaced by raw bytes). */
  | { readonly kind: 'websocket'; readonly url: string }
  /** A shared-memory segment, written by the hostile ring writer (torture/shm-hostile.ts). */
  | { readonly kind: 'segment'; readonly name: string }
  /** The consumer's channel to a process it forks: a hosted process writes messages on it. */
  | { readonly kind: 'host-channel'; readonly address: string };

/** How the torture suite writes raw bytes to this transport's receiver. */
export interface RawInput {
  readonly grammar: RawGrammar;
  target(address: string): RawTarget;
  /** Limits the receiver enforces, for bad inputs that probe just beyond them (ws: maxFragments). */
  limits?(maxFrameBytes: number): Readonly<Record<string, number>>;
}

// ---- the ends ----

export interface ReceiverOptions {
  /** Private directory (mode 0700) unique to this run: socket files go here. */
  runDir: string;
  /** Largest frame (header + payload) the receiver accepts; larger is FB_ERR_PROTOCOL. */
  maxFrameBytes: number;
  /** Producers that will connect. */
  producers: number;
  /** Backpressure policy when the consumer is behind. */
  policy: BackpressurePolicy;
  /** Transport-specific knobs, as declared in `Transport.options` (checked before createReceiver). */
  options: Record<string, unknown>;
  /**
   * Hosted topologies (capabilities.topology): the channels of the producers this process
   * forks, and what it shares with the threads it hosts. Given by whoever hosts them
   * (harness/child.ts, the conformance kit, the torture receiver).
   */
  host?: HostChannel;
  /**
   * Environment for any server process the receiver starts (capabilities.needsServer): the
   * harness gives a server its own copy-count page here, so its copies are counted as its own
   * side, not folded into the consumer's.
   */
  serverEnv?: Record<string, string>;
}

export interface SenderOptions {
  producerId: number;
  maxFrameBytes: number;
  policy: BackpressurePolicy;
  /** As declared in `Transport.options` (checked before openSender). */
  options: Record<string, unknown>;
  /** Topology 'consumer-threads': what the hosting consumer shared with this thread. */
  host?: HostChannel;
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
  /** Exactly the transport's declared `stats.receiver` shape. */
  stats(): TransportStats;
  /**
   * Optional: the measured window, [openNs, closeNs) on core/clock's nowNs. A receiver whose stats
   * hold latency figures of its own (shm's wake-to-handler) limits them to it, so that they cover
   * the same frames as the harness's figures; counters stay whole-life.
   */
  setWindow?(openNs: number, closeNs: number): void;
  /** Pid of a server process the receiver started (redis): its CPU is measured as a third side. */
  readonly serverPid?: number;
  close(): Promise<void>;
}

export interface Loan {
  /** Writable view of exactly `bytes` bytes inside the transport's memory. */
  readonly view: Uint8Array;
  /** Publishes the frame. */
  commit(): Promise<void>;
  /**
   * Gives the memory back unpublished: nothing arrives, the next loan or send goes on (in order).
   * After commit() or abort() the view must not be used; a second call does nothing.
   */
  abort(): void;
}

export interface Sender {
  /** Copying path. Resolves when `frame` may be reused; `false` = dropped by policy. */
  send(frame: Uint8Array): Promise<boolean>;
  /** Zero-copy path (only when capabilities.zeroCopy). `null` = dropped by policy. */
  loan?(bytes: number): Promise<Loan | null>;
  onError(handler: ErrorHandler): void;
  /** Exactly the transport's declared `stats.sender` shape. */
  stats(): TransportStats;
  close(): Promise<void>;
}

/**
 * Ends of a transport that are native programs instead of this harness's Node processes (shm-c:
 * both ends in C; shm-node-c: the consumer in C). Each speaks the line protocol of docs/ring-c.md
 * and does the same work as the Node end it replaces; harness/native-peer.ts starts it, relays the
 * case to it and measures its process. The transport's own createReceiver/openSender stay the
 * Node ends of the same wire (so a Node end can face a native one).
 */
export interface NativeEnds {
  readonly consumer?: {
    /** The program's absolute path. */
    program(): string;
    /** The transport's fields of the consumer's init line (the harness adds `role`). */
    init(opts: ReceiverOptions): Record<string, unknown>;
  };
  readonly producer?: {
    program(): string;
  };
}

export interface Transport {
  readonly name: string;
  /** One line for `bench list`. */
  readonly description: string;
  readonly capabilities: TransportCapabilities;
  /** Largest frame (header + payload) this transport carries by default. */
  readonly maxFrameBytes: number;
  /** The options it takes (besides options.ts COMMON_OPTIONS, which every transport takes). */
  readonly options: readonly OptionSpec[];
  /** The shape of each end's `stats()`. */
  readonly stats: { readonly receiver: StatsShape; readonly sender: StatsShape };
  /** How a hostile process writes raw bytes to its receiver; absent only when registry.ts NO_RAW_INPUT names it. */
  readonly rawInput?: RawInput;
  /** null when it can run here now, else the reason it cannot (and how to fix it). */
  unavailableReason(): string | null;
  /** Ends that run as native programs (NativeEnds above); absent: both ends are Node. */
  readonly nativeEnds?: NativeEnds;
  /**
   * Removes what processes killed in earlier cases or runs left behind outside the run
   * directory (shm: segments whose creator is dead), never anything of a live process.
   * Returns what it removed. Called by the coordinator after every case of this transport.
   */
  cleanupOrphans?(): string[];
  /** `opts.options` has been checked against `options` (define.ts). */
  createReceiver(opts: ReceiverOptions): Promise<Receiver>;
  openSender(address: string, opts: SenderOptions): Promise<Sender>;
}
