import { fbError } from '../core/errors';
import type { Transport } from './types';

/**
 * Every transport, by name. Adapters are loaded lazily so that a transport whose
 * dependencies are missing (e.g. the native addon) never breaks the others.
 */
const LOADERS: Record<string, () => Transport> = {
  ws: () => require('./ws').wsTransport,
  'ws-nomask': () => require('./ws').wsNoMaskTransport,
  unix: () => require('./unix').unixTransport,
  tcp: () => require('./tcp').tcpTransport,
  shm: () => require('./shm/transport').shmTransport,
  'shm-copy': () => require('./shm/transport').shmCopyTransport,
  pipe: () => require('./pipe').pipeTransport,
  zeromq: () => require('./zeromq').zeromqTransport,
  redis: () => require('./redis').redisTransport,
  'node-ipc': () => require('./node-ipc').nodeIpcTransport,
  'worker-sab': () => require('./worker-sab').workerSabTransport,
};

/**
 * The transports whose receiver no hostile process can write raw bytes to, with the reason:
 * the one place a transport may say it has no `rawInput`, and only an in-process one may
 * (test/conformance.test.ts fails any other transport without `rawInput`).
 */
export const NO_RAW_INPUT: Readonly<Record<string, string>> = {
  'worker-sab': 'an in-process SharedArrayBuffer ring between threads of one process: not reachable from another process',
};

export function transportNames(): string[] {
  return Object.keys(LOADERS);
}

export function getTransport(name: string): Transport {
  const load = LOADERS[name];
  if (!load) {
    throw fbError('FB_ERR_UNKNOWN_TRANSPORT', `unknown transport '${name}' (known: ${transportNames().join(', ')})`);
  }
  return load();
}

/**
 * Why a transport cannot run here (its module does not load, or it says so), or null.
 * Load failures (e.g. a missing native build) become a reason, never a crash.
 */
export function unavailableReason(name: string): string | null {
  let t: Transport;
  try {
    t = getTransport(name);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'FB_ERR_UNKNOWN_TRANSPORT') throw e;
    return String(err.message ?? e).split('\n')[0];
  }
  return t.unavailableReason();
}

/** Parses `ws,unix` or `all` into transport names (validated). */
export function parseTransports(list: string): string[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw fbError('FB_ERR_UNKNOWN_TRANSPORT', 'no transport named');
  if (names.includes('all')) return transportNames();
  for (const n of names) if (!LOADERS[n]) getTransport(n);
  return [...new Set(names)];
}
