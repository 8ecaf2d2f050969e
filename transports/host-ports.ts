import { EventEmitter } from 'node:events';

/**
 * What transports with a hosted topology (types.ts `topology`) need from whoever hosts the
 * producers, per thread (module state is per thread):
 * - ports: the IPC channels of producer processes this process forked (a ChildProcess in
 *   the consumer; registered by harness/producer-host.ts, or by the conformance kit);
 * - shared: objects a receiver shares with worker threads it will host (SharedArrayBuffers,
 *   by address), handed to each hosted worker in its workerData and adopted there.
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

const ports = new Set<HostPort>();
const events = new EventEmitter();
events.setMaxListeners(0);

/** Registers a forked producer's channel; receivers created before or after see it. */
export function addHostPort(port: HostPort): void {
  ports.add(port);
  port.on('exit', () => ports.delete(port));
  events.emit('port', port);
}

/** Calls `cb` for every registered port, now and later; returns the unsubscribe function. */
export function eachHostPort(cb: (port: HostPort) => void): () => void {
  for (const p of ports) cb(p);
  events.on('port', cb);
  return () => events.off('port', cb);
}

const shared = new Map<string, unknown>();

export function shareWithWorkers(key: string, value: unknown): void {
  shared.set(key, value);
}

export function unshare(key: string): void {
  shared.delete(key);
}

export function sharedObjects(): Record<string, unknown> {
  return Object.fromEntries(shared);
}

/** In a hosted worker: takes what the host shared (its workerData). */
export function adoptShared(objects: Record<string, unknown> | undefined): void {
  for (const [k, v] of Object.entries(objects ?? {})) shared.set(k, v);
}

export function sharedObject(key: string): unknown {
  return shared.get(key);
}
