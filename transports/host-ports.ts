import { EventEmitter } from 'node:events';

/**
 * What transports with a hosted topology (types.ts `topology`) need from whoever hosts the
 * producers, handed to them in ReceiverOptions.host / SenderOptions.host (never module state):
 * - ports: the IPC channels of producer processes the host forked (a ChildProcess in the
 *   consumer; added by harness/producer-host.ts, the conformance kit or the torture receiver);
 * - shared: objects a receiver shares with worker threads the host will start (SharedArrayBuffers,
 *   by address), handed to each hosted worker in its workerData, and its channel made from them.
 */
export interface HostPort {
  send(msg: unknown, cb?: (err: Error | null) => void): boolean;
  on(event: 'message', cb: (msg: unknown) => void): unknown;
  on(event: 'disconnect' | 'exit', cb: () => void): unknown;
  off(event: string, cb: (...args: never[]) => void): unknown;
  readonly connected: boolean;
}

/**
 * Sends on a producer's channel without ever throwing: a producer that just died closes its
 * channel, and a plain send would then surface EPIPE as an uncaught error (its death is
 * reported through 'exit'/'disconnect' instead).
 */
export function sendToPort(port: HostPort, msg: unknown): void {
  if (!port.connected) return;
  try {
    port.send(msg, () => undefined);
  } catch {
    /* channel closed between the check and the send */
  }
}

/** One host's channel to the producers it hosts: their ports, and what it shares with its threads. */
export class HostChannel {
  private readonly ports = new Set<HostPort>();
  private readonly events = new EventEmitter();
  private readonly shared = new Map<string, unknown>();

  /** In a hosted worker thread: the channel made of what the host shared (its workerData). */
  static adopt(objects: Record<string, unknown> | undefined): HostChannel {
    const c = new HostChannel();
    for (const [k, v] of Object.entries(objects ?? {})) c.shared.set(k, v);
    return c;
  }

  constructor() {
    this.events.setMaxListeners(0);
  }

  /** Adds a forked producer's channel; receivers listening before or after see it. */
  addPort(port: HostPort): void {
    this.ports.add(port);
    port.on('exit', () => this.ports.delete(port));
    this.events.emit('port', port);
  }

  /** Calls `cb` for every port, now and later; returns the unsubscribe function. */
  eachPort(cb: (port: HostPort) => void): () => void {
    for (const p of this.ports) cb(p);
    this.events.on('port', cb);
    return () => this.events.off('port', cb);
  }

  share(key: string, value: unknown): void {
    this.shared.set(key, value);
  }

  unshare(key: string): void {
    this.shared.delete(key);
  }

  /** Everything shared, for a hosted worker's workerData. */
  sharedObjects(): Record<string, unknown> {
    return Object.fromEntries(this.shared);
  }

  sharedObject(key: string): unknown {
    return this.shared.get(key);
  }
}
