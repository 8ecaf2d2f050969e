import { fbError, type FbError } from '../core/errors';
import type { ErrorHandler, OptionSpec } from './types';

/**
 * What every adapter shares: the limits (one value each, used by every transport that has
 * that limit) and the error sink behind every `onError()`.
 */

// ---- limits ----

/** Default largest frame for socket transports: 256 MiB (a 4K RGBA frame is ~33 MB). */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/**
 * Connections a receiver holds at once beyond its producers (a reconnect racing the old
 * socket's close). Each connection may buffer up to maxFrameBytes, and 127.0.0.1 is open to
 * every local user: the cap bounds that memory. Beyond it a connection is refused and counted.
 */
export const SPARE_CONNECTIONS = 2;

/** Connections a receiver for `producers` producers holds at once. */
export function maxConnections(producers: number): number {
  return Math.max(1, producers) + SPARE_CONNECTIONS;
}

/** Default of the `handshakeTimeoutMs` option: a connection that has not completed its handshake by then is closed. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default of the `frameIdleTimeoutMs` option: a connection silent this long in the middle of a frame is dropped. */
export const DEFAULT_FRAME_IDLE_TIMEOUT_MS = 30_000;

/** The transport option of every receiver with a handshake (tcp, unix, ws, zeromq). */
export const HANDSHAKE_TIMEOUT_OPTION = {
  name: 'handshakeTimeoutMs',
  type: 'integer',
  default: DEFAULT_HANDSHAKE_TIMEOUT_MS,
  min: 1,
  help: 'receiver: a connection that has not completed its handshake within this many ms is closed (it counts against the connection cap meanwhile)',
} as const satisfies OptionSpec;

/** The transport option of every receiver that can see a frame half-sent (tcp, unix, ws). */
export const FRAME_IDLE_TIMEOUT_OPTION = {
  name: 'frameIdleTimeoutMs',
  type: 'integer',
  default: DEFAULT_FRAME_IDLE_TIMEOUT_MS,
  min: 1,
  help: 'receiver: a producer that sends part of a frame and then nothing for this many ms is dropped (FB_ERR_PEER_STALLED); time the receiver itself holds the socket paused does not count',
} as const satisfies OptionSpec;

/** The sender's refusal of a frame above its maxFrameBytes. */
export function frameTooLarge(bytes: number, maxFrameBytes: number): FbError {
  return fbError('FB_ERR_FRAME_TOO_LARGE', `frame of ${bytes} bytes exceeds maxFrameBytes ${maxFrameBytes}`);
}

/** The receiver's report of a frame above its maxFrameBytes (never delivered). */
export function frameOverLimit(bytes: number, maxFrameBytes: number): FbError {
  return fbError('FB_ERR_PROTOCOL', `frame of ${bytes} bytes exceeds maxFrameBytes ${maxFrameBytes}`);
}

// ---- the error sink ----

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
