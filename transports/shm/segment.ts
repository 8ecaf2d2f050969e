import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fbError, type FbError } from '../../core/errors';
import { nowNs } from '../../core/clock';
import { shmNative } from './native';
import { FOREIGN_PREFIX, MAX_RING_BYTES, MIN_RING_BYTES, RING, SEGMENT_PREFIX, i32, i64 } from './layout';

/**
 * One mapped ring and its lifecycle. The memory is a sealed memfd (no name in /dev/shm:
 * nothing to truncate, guess or leak; F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL hold for every
 * descriptor, /proc/<pid>/fd included). The consumer creates it and serves its descriptor on a
 * unix socket `<dir>/ring-<hex>.sock` (dir: the run's 0700 directory, or a fresh 0700 one);
 * that socket path is the ring's address. A producer connects, receives the descriptor
 * (SCM_RIGHTS), learns who sent it (SO_PEERCRED), checks the seals and maps it.
 */
export interface Segment {
  /** The ring's address: the socket path that serves its descriptor. */
  readonly name: string;
  readonly ab: ArrayBuffer;
  readonly i32: Int32Array;
  readonly u64: BigUint64Array;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** Bytes in the data area (validated once; never re-read from shared memory). */
  readonly capacity: number;
  /** The consumer's pid: our own when we created it, else the socket peer's (SO_PEERCRED), never the header's. */
  readonly consumerPid: number;
  readonly createdNs: number;
  readonly maxRecordBytes: number;
  /** Producer: the connection to the consumer's socket, kept open as each side's liveness token (-1: none). */
  readonly sock: number;
}

/** The consumer's end: who is connected (liveness the producers cannot fake), and stopping the server. */
export interface OwnSegment extends Segment {
  /** Pids holding a connection (SO_PEERCRED) and those whose last connection closed since the last call. */
  peers(): { live: number[]; gone: number[] };
  /** Stops serving the descriptor and removes the socket (and our own directory). Idempotent. */
  close(): void;
}

function views(name: string, ab: ArrayBuffer, capacity: number, consumerPid: number, createdNs: number, maxRecordBytes: number, sock = -1): Segment {
  return {
    sock,
    name,
    ab,
    i32: new Int32Array(ab, 0, RING.HEADER_BYTES / 4),
    u64: new BigUint64Array(ab, 0, (RING.HEADER_BYTES + capacity) / 8),
    u8: new Uint8Array(ab),
    dv: new DataView(ab),
    capacity,
    consumerPid,
    createdNs,
    maxRecordBytes,
  };
}

function errno(e: unknown): string {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : '';
}

/** Native errors (errno codes) as FbErrors. */
export function nativeError(e: unknown, what: string): FbError {
  const code = errno(e);
  const msg = `${what}: ${e instanceof Error ? e.message : String(e)}`;
  if (code.startsWith('FB_ERR_')) return fbError(code as 'FB_ERR_NATIVE_UNAVAILABLE', msg);
  if (code === 'ENOENT' || code === 'ECONNREFUSED') return fbError('FB_ERR_PEER_GONE', `${what}: nobody serves this ring (receiver gone?)`);
  if (code === 'EUNSEALED' || code === 'EPROTO') return fbError('FB_ERR_RING_CORRUPT', msg);
  return fbError('FB_ERR_TRANSPORT_UNAVAILABLE', msg);
}

/** How long a producer waits for the ring's descriptor. */
const FETCH_MS = 5000;
const SOCKET_RE = /^\/[^\0]{1,106}\.sock$/;

/** Creates a fresh sealed ring, writes its header and starts serving its descriptor in `dir` (0700). */
export function createSegment(capacity: number, maxRecordBytes: number, dir?: string): OwnSegment {
  if (!Number.isInteger(capacity) || capacity < MIN_RING_BYTES || capacity > MAX_RING_BYTES || capacity % RING.RECORD_ALIGN !== 0) {
    throw fbError('FB_ERR_BAD_NUMBER', `ringBytes must be a multiple of ${RING.RECORD_ALIGN} in [${MIN_RING_BYTES}, ${MAX_RING_BYTES}], got ${capacity}`);
  }
  const native = shmNative();
  let made: { fd: number; ab: ArrayBuffer | null };
  try {
    made = native.memfdCreate(RING.HEADER_BYTES + capacity, true, true, 'framebench-ring');
  } catch (e) {
    throw nativeError(e, 'creating the ring memory');
  }
  const ab = made.ab as ArrayBuffer;
  const ownDir = dir === undefined ? mkdtempSync(path.join(os.tmpdir(), OWN_DIR_PREFIX)) : null; // mode 0700
  const name = path.join(ownDir ?? dir ?? '', `ring-${randomBytes(8).toString('hex')}.sock`);
  let server: number;
  try {
    if (!SOCKET_RE.test(name)) throw fbError('FB_ERR_USAGE', `ring socket path too long or not absolute: ${name}`);
    server = native.serveFd(name, made.fd);
  } catch (e) {
    native.closeFd(made.fd);
    native.unmap(ab);
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    throw nativeError(e, `serving the ring on ${name}`);
  }
  native.closeFd(made.fd); // the server keeps its own duplicate
  const files = { socket: name, dir: ownDir };
  track(files);
  const createdNs = nowNs();
  const seg = views(name, ab, capacity, process.pid, createdNs, maxRecordBytes);
  const dv = seg.dv;
  dv.setUint32(RING.OFF_VERSION, RING.VERSION, true);
  dv.setUint32(RING.OFF_HEADER_BYTES, RING.HEADER_BYTES, true);
  dv.setUint32(RING.OFF_MAX_PRODUCERS, RING.MAX_PRODUCERS, true);
  dv.setBigUint64(RING.OFF_CAPACITY, BigInt(capacity), true);
  dv.setUint32(RING.OFF_CONSUMER_PID, process.pid, true);
  dv.setUint32(RING.OFF_CONSUMER_STATE, RING.CONSUMER_OPEN, true);
  dv.setUint32(RING.OFF_RECORD_HEADER_BYTES, RING.RECORD_HEADER_BYTES, true);
  dv.setUint32(RING.OFF_RECORD_ALIGN, RING.RECORD_ALIGN, true);
  dv.setFloat64(RING.OFF_CREATED_NS, createdNs, true);
  dv.setUint32(RING.OFF_MAX_RECORD_BYTES, maxRecordBytes, true);
  Atomics.store(seg.i32, i32(RING.OFF_MAGIC), RING.MAGIC); // last: a half-written header is not ours
  let stopped = false;
  return Object.assign(seg, {
    peers: () => (stopped ? null : native.peers(server)) ?? { live: [], gone: [] },
    close(): void {
      if (stopped) return;
      stopped = true;
      native.unserveFd(server);
      untrack(files);
    },
  });
}

/** Fetches the ring's descriptor from its socket, checks the seals, maps it, validates the header. */
export function openSegment(name: string): Segment {
  if (typeof name !== 'string' || !SOCKET_RE.test(name)) {
    throw fbError('FB_ERR_PROTOCOL', `not a framebench ring address (an absolute *.sock path): ${JSON.stringify(name)}`);
  }
  const native = shmNative();
  let ab: ArrayBuffer;
  let peer: { fd: number; pid: number; uid: number; sock: number };
  try {
    peer = native.fetchFd(name, FETCH_MS, true);
  } catch (e) {
    throw nativeError(e, `fetching the ring from ${name}`);
  }
  try {
    ab = native.mapFd(peer.fd, true);
    return validate(name, ab, peer.pid, peer.sock);
  } catch (e) {
    native.closeFd(peer.sock);
    throw e instanceof Error && (e as { code?: string }).code?.startsWith('FB_ERR_') ? e : nativeError(e, `mapping the ring from ${name}`);
  }
}

/**
 * Maps the ring at `name` without validating its header: what a hostile producer (or a test
 * playing one) gets. The seals are still checked.
 */
export function mapRing(name: string): ArrayBuffer {
  const native = shmNative();
  return native.mapFd(native.fetchFd(name, FETCH_MS).fd, false);
}

/** Own directories of rings created without a `dir` are called this, in the system temp directory. */
const OWN_DIR_PREFIX = 'framebench-ring-';

/**
 * Removes the socket `name` if nobody serves it any more (its consumer was killed) and it is a
 * socket of this user; then its directory if that is a ring's own (framebench-ring-*) and empty.
 */
export function removeIfStale(name: string): boolean {
  if (!SOCKET_RE.test(name)) return false;
  const native = shmNative();
  try {
    native.closeFd(native.fetchFd(name, 0).fd);
    return false; // served: alive
  } catch (e) {
    if (errno(e) !== 'ECONNREFUSED') return false;
  }
  try {
    const st = lstatSync(name);
    if (!st.isSocket() || st.uid !== process.geteuid?.()) return false;
    unlinkSync(name);
  } catch {
    return false;
  }
  const dir = path.dirname(name);
  if (path.basename(dir).startsWith(OWN_DIR_PREFIX)) {
    try {
      rmdirSync(dir);
    } catch {
      /* not empty, or not ours */
    }
  }
  return true;
}

/** Sockets of killed consumers in the rings' own directories of the system temp directory. */
function cleanStaleSockets(): string[] {
  const removed: string[] = [];
  const tmp = os.tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(tmp).filter((n) => n.startsWith(OWN_DIR_PREFIX));
  } catch {
    return removed;
  }
  for (const d of entries) {
    const dir = path.join(tmp, d);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || st.uid !== process.geteuid?.()) continue;
      for (const f of readdirSync(dir)) if (f.endsWith('.sock') && removeIfStale(path.join(dir, f))) removed.push(path.join(dir, f));
    } catch {
      /* raced with its owner */
    }
  }
  return removed;
}

/** Checks every header field the producer relies on; unmaps and throws FB_ERR_RING_CORRUPT if one is impossible. */
function validate(name: string, ab: ArrayBuffer, consumerPid: number, sock: number): Segment {
  const native = shmNative();
  const bad = (why: string): FbError => {
    native.unmap(ab);
    return fbError('FB_ERR_RING_CORRUPT', `${name}: ${why}`);
  };
  if (ab.byteLength < RING.HEADER_BYTES + MIN_RING_BYTES) throw bad(`segment too small (${ab.byteLength} B)`);
  const dv = new DataView(ab);
  const u32 = (off: number): number => dv.getUint32(off, true);
  if (Atomics.load(new Int32Array(ab, 0, 1), 0) !== RING.MAGIC) throw bad('bad magic');
  if (u32(RING.OFF_VERSION) !== RING.VERSION) throw bad(`layout version ${u32(RING.OFF_VERSION)}, expected ${RING.VERSION}`);
  if (u32(RING.OFF_HEADER_BYTES) !== RING.HEADER_BYTES || u32(RING.OFF_MAX_PRODUCERS) !== RING.MAX_PRODUCERS) throw bad('bad header geometry');
  if (u32(RING.OFF_RECORD_HEADER_BYTES) !== RING.RECORD_HEADER_BYTES || u32(RING.OFF_RECORD_ALIGN) !== RING.RECORD_ALIGN) throw bad('bad record geometry');
  const cap = dv.getBigUint64(RING.OFF_CAPACITY, true);
  if (cap < BigInt(MIN_RING_BYTES) || cap > BigInt(MAX_RING_BYTES) || cap % BigInt(RING.RECORD_ALIGN) !== 0n) throw bad(`bad capacity ${cap}`);
  const capacity = Number(cap);
  if (RING.HEADER_BYTES + capacity > ab.byteLength) throw bad(`capacity ${capacity} exceeds the segment`);
  const maxRecordBytes = Math.min(u32(RING.OFF_MAX_RECORD_BYTES), capacity - RING.RECORD_HEADER_BYTES);
  return views(name, ab, capacity, consumerPid, dv.getFloat64(RING.OFF_CREATED_NS, true), maxRecordBytes, sock);
}

/** Detaches every JS view of the mapping (they read as empty afterwards) and unmaps it; closes a kept connection. */
export function unmapSegment(seg: Segment): void {
  if (seg.sock >= 0) shmNative().closeFd(seg.sock);
  (seg as { sock: number }).sock = -1;
  try {
    shmNative().unmap(seg.ab);
  } catch {
    /* already unmapped */
  }
}

/**
 * Removes what killed consumers left: sockets in the rings' own temp directories (nobody
 * serves them any more), and named `/dev/shm/framebench-*` ring segments of older framebench versions whose
 * creator pid is gone; returns their names. Only regular files of this user are opened (never
 * blocking: O_NONBLOCK | O_NOFOLLOW, so a FIFO or symlink named like a segment is skipped);
 * skips the copy-accounting library's `framebench-cc-*` and anything whose magic is not a ring's.
 */
export function cleanStaleSegments(prefix = SEGMENT_PREFIX): string[] {
  const native = shmNative();
  const removed: string[] = prefix === SEGMENT_PREFIX ? cleanStaleSockets() : [];
  for (const name of native.listSegments(prefix.startsWith(SEGMENT_PREFIX) ? prefix : SEGMENT_PREFIX)) {
    if (name.startsWith(`/${FOREIGN_PREFIX}`)) continue;
    let p: ReturnType<typeof native.peek>;
    try {
      p = native.peek(name, 64);
    } catch {
      continue;
    }
    if (!p || p.read < 64) continue;
    const dv = new DataView(p.head.buffer, p.head.byteOffset, 64);
    if (dv.getUint32(RING.OFF_MAGIC, true) !== RING.MAGIC) continue;
    const pid = dv.getUint32(RING.OFF_CONSUMER_PID, true);
    if (pid === 0 || native.pidAlive(pid)) continue;
    try {
      if (native.unlink(name)) removed.push(name);
    } catch {
      /* not ours (permissions): leave it */
    }
  }
  return removed;
}

// ---- files this process created (socket, own directory): removed on exit and on SIGINT/SIGTERM/SIGHUP ----

interface Files {
  socket: string;
  dir: string | null;
}
const owned = new Set<Files>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function removeFiles(f: Files): void {
  try {
    unlinkSync(f.socket);
  } catch {
    /* gone already (the server removes it when stopped) */
  }
  if (f.dir) rmSync(f.dir, { recursive: true, force: true });
}

function removeAll(): void {
  for (const f of owned) removeFiles(f);
  owned.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  removeAll();
  uninstall();
  // Never swallow the signal: with no other listener, re-raise it for the default action.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', removeAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', removeAll);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

function track(f: Files): void {
  owned.add(f);
  install();
}

function untrack(f: Files): void {
  owned.delete(f);
  removeFiles(f);
  if (owned.size === 0) uninstall();
}

/** Offsets of hot header words, precomputed for the typed-array views. */
export const IDX = {
  reserve: i64(RING.OFF_RESERVE),
  read: i64(RING.OFF_READ),
  commits: i64(RING.OFF_COMMITS),
  spaceSeq: i32(RING.OFF_SPACE_SEQ),
  producersWaiting: i32(RING.OFF_PRODUCERS_WAITING),
  dataSeq: i32(RING.OFF_DATA_SEQ),
  consumerWaiting: i32(RING.OFF_CONSUMER_WAITING),
  consumerState: i32(RING.OFF_CONSUMER_STATE),
} as const;
