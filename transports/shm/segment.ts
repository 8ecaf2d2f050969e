import { randomBytes } from 'node:crypto';
import { fbError, type FbError } from '../../core/errors';
import { nowNs } from '../../core/clock';
import { shmNative } from './native';
import { FOREIGN_PREFIX, MAX_RING_BYTES, MIN_RING_BYTES, RING, SEGMENT_PREFIX, i32, i64 } from './layout';

/**
 * One mapped ring segment and its lifecycle: creation (by the consumer), opening (by
 * producers), header validation, unmapping, and removal of the name from /dev/shm when
 * the creator closes, exits, is interrupted, or when a survivor finds the creator dead.
 */
export interface Segment {
  readonly name: string;
  readonly ab: ArrayBuffer;
  readonly i32: Int32Array;
  readonly u64: BigUint64Array;
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** Bytes in the data area (validated once; never re-read from shared memory). */
  readonly capacity: number;
  readonly consumerPid: number;
  readonly createdNs: number;
  readonly maxRecordBytes: number;
}

function views(name: string, ab: ArrayBuffer, capacity: number, consumerPid: number, createdNs: number, maxRecordBytes: number): Segment {
  return {
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
  if (code === 'ENOENT') return fbError('FB_ERR_PEER_GONE', `${what}: the segment does not exist (receiver gone?)`);
  return fbError('FB_ERR_TRANSPORT_UNAVAILABLE', msg);
}

/** Creates a fresh segment `/framebench-<128-bit random hex>` (0600, O_EXCL) and writes its header. */
export function createSegment(capacity: number, maxRecordBytes: number): Segment {
  if (!Number.isInteger(capacity) || capacity < MIN_RING_BYTES || capacity > MAX_RING_BYTES || capacity % RING.RECORD_ALIGN !== 0) {
    throw fbError('FB_ERR_BAD_NUMBER', `ringBytes must be a multiple of ${RING.RECORD_ALIGN} in [${MIN_RING_BYTES}, ${MAX_RING_BYTES}], got ${capacity}`);
  }
  const native = shmNative();
  let name = '';
  let ab: ArrayBuffer | null = null;
  for (let attempt = 0; ab === null; attempt++) {
    name = `/${SEGMENT_PREFIX}${randomBytes(16).toString('hex')}`;
    try {
      ab = native.create(name, RING.HEADER_BYTES + capacity, true);
    } catch (e) {
      if (errno(e) !== 'EEXIST' || attempt >= 3) throw nativeError(e, `creating ${name}`);
    }
  }
  track(name);
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
  return seg;
}

/** Maps an existing segment and validates every header field it will rely on. */
export function openSegment(name: string): Segment {
  if (typeof name !== 'string' || !/^\/framebench-[0-9a-f]{32}$/.test(name)) {
    throw fbError('FB_ERR_PROTOCOL', `not a framebench ring address: ${JSON.stringify(name)}`);
  }
  const native = shmNative();
  let ab: ArrayBuffer;
  try {
    ab = native.open(name, true);
  } catch (e) {
    throw nativeError(e, `opening ${name}`);
  }
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
  return views(name, ab, capacity, u32(RING.OFF_CONSUMER_PID), dv.getFloat64(RING.OFF_CREATED_NS, true), maxRecordBytes);
}

/** Detaches every JS view of the mapping (they read as empty afterwards) and unmaps it. */
export function unmapSegment(seg: Segment): void {
  try {
    shmNative().unmap(seg.ab);
  } catch {
    /* already unmapped */
  }
}

/** Removes the name (idempotent). Mappings stay valid for whoever still has them. */
export function unlinkSegment(name: string): void {
  owned.delete(name);
  try {
    shmNative().unlink(name);
  } catch {
    /* gone already, or not ours to remove */
  }
  if (owned.size === 0) uninstall();
}

/**
 * Removes the name of a segment whose creator died, if the name still refers to the same
 * incarnation (same creator pid and creation time). Used by a producer that outlives its consumer.
 */
export function unlinkIfOrphaned(seg: Segment): boolean {
  const native = shmNative();
  const p = native.peek(seg.name, 64);
  if (!p || p.read < 64) return false;
  const dv = new DataView(p.head.buffer, p.head.byteOffset, 64);
  if (dv.getUint32(RING.OFF_MAGIC, true) !== RING.MAGIC) return false;
  const pid = dv.getUint32(RING.OFF_CONSUMER_PID, true);
  if (pid !== seg.consumerPid || dv.getFloat64(RING.OFF_CREATED_NS, true) !== seg.createdNs || native.pidAlive(pid)) return false;
  return native.unlink(seg.name);
}

/**
 * Removes `/dev/shm/framebench-*` ring segments whose creator pid is gone; returns their
 * names. Skips the copy-accounting library's `framebench-cc-*` and anything whose header
 * magic is not a ring's.
 */
export function cleanStaleSegments(): string[] {
  const native = shmNative();
  const removed: string[] = [];
  for (const name of native.listSegments(SEGMENT_PREFIX)) {
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

// ---- names this process created: removed on exit and on SIGINT/SIGTERM/SIGHUP ----

const owned = new Set<string>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function removeAll(): void {
  for (const name of owned) {
    try {
      shmNative().unlink(name);
    } catch {
      /* best effort */
    }
  }
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

function track(name: string): void {
  owned.add(name);
  install();
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
