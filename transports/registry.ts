import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fbError, isFbError } from '../core/errors';
import { loadModuleFile } from '../core/ts-register';
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
  'shm-c': () => require('./shm-c').shmCTransport,
  'shm-node-c': () => require('./shm-c').shmNodeCTransport,
};

/**
 * Transports that are another one's wire with native ends (Transport.nativeEnds), by the name of
 * that wire: suites that test a wire (conformance, torture, injected faults) test it once, under
 * its own name; the native ends have their own tests (test/ring-c*.test.ts).
 */
export const NATIVE_VARIANTS: Readonly<Record<string, string>> = { 'shm-c': 'shm', 'shm-node-c': 'shm' };

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

/** Every transport whose wire is its own (not a NATIVE_VARIANTS entry). */
export function wireTransportNames(): string[] {
  return transportNames().filter((n) => !(n in NATIVE_VARIANTS));
}

/**
 * A user's transport module instead of a registered name: a path (`./my-transport.ts`, `/abs/x.js`, or
 * any name ending in .ts/.js/.cjs). In a run it goes by its declared `name` (registerTransportModule).
 */
export function isTransportModulePath(name: string): boolean {
  return name.startsWith('./') || name.startsWith('../') || path.isAbsolute(name) || /\.(c?js|ts|cts)$/.test(name);
}

const REQUIRED: Array<[keyof Transport, string]> = [
  ['name', 'string'], ['description', 'string'], ['capabilities', 'object'], ['maxFrameBytes', 'number'], ['options', 'object'],
  ['stats', 'object'], ['unavailableReason', 'function'], ['createReceiver', 'function'], ['openSender', 'function'],
];

/** What a module is missing of the Transport contract (transports/types.ts), [] when complete. */
export function contractProblems(t: unknown): string[] {
  if (typeof t !== 'object' || t === null) return ['exports no transport object (export default defineTransport({...}))'];
  const o = t as Record<string, unknown>;
  const out = REQUIRED.filter(([k, type]) => typeof o[k] !== type || o[k] === null).map(([k, type]) => `'${k}' is not a ${type}`);
  const stats = o.stats as Record<string, unknown> | undefined;
  if (stats && typeof stats === 'object' && (typeof stats.receiver !== 'object' || typeof stats.sender !== 'object')) out.push("'stats' needs 'receiver' and 'sender' shapes");
  return out;
}

const userModules = new Map<string, Transport>();

function loadUserTransport(file: string): Transport {
  const abs = path.resolve(file);
  const cached = userModules.get(abs);
  if (cached) return cached;
  if (!existsSync(abs) || !statSync(abs).isFile()) throw fbError('FB_ERR_UNKNOWN_TRANSPORT', `transport module not found: ${file}`);
  let exp: Record<string, unknown>;
  try {
    exp = loadModuleFile(abs) as Record<string, unknown>;
  } catch (e) {
    if (isFbError(e)) throw e;
    throw fbError('FB_ERR_TRANSPORT_MODULE', `${file} does not load: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  const t = (exp?.default ?? exp?.transport ?? exp) as Transport;
  const problems = contractProblems(t);
  if (problems.length) throw fbError('FB_ERR_TRANSPORT_MODULE', `${file} does not implement the Transport contract (transports/types.ts): ${problems.join('; ')}`);
  userModules.set(abs, t);
  return t;
}

/**
 * Transport modules of this run, by their declared name -> absolute path. Kept in the environment so
 * that the processes the run starts (consumer, producers) find the same module under the same name.
 */
const MODULES_ENV = 'FRAMEBENCH_TRANSPORT_MODULES';

function moduleMap(): Record<string, string> {
  try {
    const m = JSON.parse(process.env[MODULES_ENV] ?? '{}') as unknown;
    return m && typeof m === 'object' ? (m as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Loads a transport module, registers it under its declared name for this run, and returns that name. */
export function registerTransportModule(file: string): string {
  const abs = path.resolve(file);
  const t = loadUserTransport(abs);
  if (!/^[\w.-]+$/.test(t.name)) throw fbError('FB_ERR_TRANSPORT_MODULE', `${file}: its name '${t.name}' may hold only letters, digits, '.', '_' and '-'`);
  if (LOADERS[t.name]) throw fbError('FB_ERR_TRANSPORT_MODULE', `${file}: its name '${t.name}' is a built-in transport's; give it another`);
  const map = moduleMap();
  if (map[t.name] && map[t.name] !== abs) throw fbError('FB_ERR_TRANSPORT_MODULE', `${file}: the name '${t.name}' is already taken by ${map[t.name]}`);
  map[t.name] = abs;
  process.env[MODULES_ENV] = JSON.stringify(map);
  return t.name;
}

export function getTransport(name: string): Transport {
  if (isTransportModulePath(name)) return loadUserTransport(name);
  const load = LOADERS[name];
  const userModule = moduleMap()[name];
  if (!load && userModule) return loadUserTransport(userModule);
  if (!load) {
    const near = transportNames().find((n) => n.startsWith(name.slice(0, 3)) || name.startsWith(n));
    throw fbError('FB_ERR_UNKNOWN_TRANSPORT', `unknown transport '${name}'${near ? ` (did you mean ${near}?)` : ''} (known: ${transportNames().join(', ')}, or a module path like ./my-transport.ts)`);
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
    if (err.code === 'FB_ERR_UNKNOWN_TRANSPORT' || err.code === 'FB_ERR_TRANSPORT_MODULE') throw e;
    return String(err.message ?? e).split('\n')[0];
  }
  return t.unavailableReason();
}

/**
 * Checks names without loading any adapter: each is registered, 'all', or a module path that exists
 * (its contract is checked when it loads). Throws FB_ERR_UNKNOWN_TRANSPORT.
 */
export function checkTransportNames(names: string[]): void {
  if (names.length === 0) throw fbError('FB_ERR_UNKNOWN_TRANSPORT', 'no transport named');
  for (const n of names) {
    if (n === 'all' || LOADERS[n]) continue;
    if (isTransportModulePath(n)) {
      if (!existsSync(path.resolve(n))) throw fbError('FB_ERR_UNKNOWN_TRANSPORT', `transport module not found: ${n}`);
      continue;
    }
    getTransport(n); // throws with the known names
  }
}

/**
 * Parses `ws,unix`, `all` or `./my-transport.ts` into transport names (validated): 'all' is every
 * registered one (plus any modules named beside it); a module is loaded and named by its own `name`.
 */
export function parseTransports(list: string): string[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  checkTransportNames(names);
  const resolved = names.map((n) => (isTransportModulePath(n) ? registerTransportModule(n) : n));
  if (names.includes('all')) return [...new Set([...transportNames(), ...resolved.filter((n) => n !== 'all')])];
  return [...new Set(resolved)];
}
