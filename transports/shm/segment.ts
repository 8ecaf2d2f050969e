import { randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fbError, type FbError } from '../../core/errors';
import { nowNs } from '../../core/clock';
import { shmNative } from './native';
import { FOREIGN_PREFIX, MAX_RING_BYTES, MIN_RING_BYTES, RING, SEGMENT_PREFIX, i32 } from './layout';

/**
 * The ring's memory and its lifecycle. Everything is a sealed memfd (no name in /dev/shm:
 * nothing to truncate, guess or leak; F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL hold for every
 * descriptor, /proc/<pid>/fd included):
 * - the consumer page: the consumer's own words (geometry, its state, a read cursor per
 *   producer). Sealed F_SEAL_FUTURE_WRITE after the consumer mapped it: producers can only map
 *   it read-only, whatever descriptor they use.
 * - one region per producer, made by the addon's serving thread when that producer connects: the
 *   only memory the producer can write, and the only one it is given.
 * The consumer serves on a unix socket `<dir>/ring-<hex>.sock` (dir: the run's 0700 directory, or
 * a fresh 0700 one); that socket path is the ring's address. A producer connects, receives the
 * page and its region (SCM_RIGHTS) and its index, learns who sent them (SO_PEERCRED), checks the
 * seals and maps them; the connection stays open as each side's liveness token.
 * The page's wakeMode says how a producer wakes the sleeping consumer: FUTEX_WAKE on its region's
 * dataSeq (WAKE_FUTEX: the consumer's waiter thread, or the C consumer, waits in futex_waitv), or a
 * write to an eventfd of its own (WAKE_EVENTFD: a third descriptor, watched on the consumer's loop).
 */

/** How the consumer waits: `eventfd` (default: producers' eventfds, polled by the JS thread's own loop) or `thread` (a waiter thread in futex_waitv). */
export type WakeMode = 'eventfd' | 'thread';

/** A region's views (the producer's own memory; for the consumer, untrusted). */
export interface RegionViews {
  readonly ab: ArrayBuffer;
  /** The region header's u32 words. */
  readonly i32: Int32Array;
  /** The whole region as u64 words (seals, cursors). */
  readonly u64: BigUint64Array;
  readonly dv: DataView;
}

/** The consumer page's views. Producers map it read-only: they must never store into these. */
export interface PageViews {
  readonly page: ArrayBuffer;
  readonly pageI32: Int32Array;
  readonly pageU64: BigUint64Array;
  readonly pageDv: DataView;
}

/** What both ends know of a ring. */
export interface RingInfo {
  /** The ring's address: the socket path that serves its memory. */
  readonly name: string;
  /** Bytes in each region's data area (validated once; never re-read from shared memory). */
  readonly capacity: number;
  /** The consumer's pid: our own when we created it, else the socket peer's (SO_PEERCRED), never the page's. */
  readonly consumerPid: number;
  readonly createdNs: number;
  readonly maxRecordBytes: number;
}

/** A producer's end: the page (read-only), its own region (read-write) and the connection. */
export interface ProducerSegment extends RingInfo, PageViews {
  readonly region: RegionViews;
  /** This producer's index (its line in the page). */
  readonly index: number;
  /** The connection to the consumer's socket, kept open as each side's liveness token (-1: none). */
  readonly sock: number;
  /** WAKE_EVENTFD: the eventfd to write to wake the consumer; -1 in futex mode. */
  readonly wakeFd: number;
}

/** A region the serving thread handed to a producer: its index and who it is (SO_PEERCRED). */
export interface Arrival {
  index: number;
  pid: number;
  uid: number;
  region: RegionViews;
  /** WAKE_EVENTFD: the consumer's duplicate of this producer's eventfd (the caller's to close); else -1. */
  wakeFd: number;
}

/** The consumer's end: its page (writable), arrivals and departures of producers, stopping the server. */
export interface OwnSegment extends RingInfo, PageViews {
  readonly wake: WakeMode;
  /** eventfd mode: an eventfd the serving thread writes when producers come or go (the caller's to close); else -1. */
  readonly peersWakeFd: number;
  /** Producers that connected (their regions, mapped) and indices whose connection closed, since the last call. */
  events(): { added: Arrival[]; gone: number[] };
  /** Done with producer `index` (left, or cut off): ends its connection if open, frees the index. */
  dropPeer(index: number): void;
  /** Stops serving and removes the socket (and our own directory). Idempotent. */
  close(): void;
}

function regionViews(ab: ArrayBuffer): RegionViews {
  return { ab, i32: new Int32Array(ab, 0, RING.HEADER_BYTES / 4), u64: new BigUint64Array(ab, 0, ab.byteLength >> 3), dv: new DataView(ab) };
}

function pageViews(page: ArrayBuffer): PageViews {
  return { page, pageI32: new Int32Array(page), pageU64: new BigUint64Array(page), pageDv: new DataView(page) };
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

/** How long a producer waits for the ring's descriptors. */
const FETCH_MS = 5000;
const SOCKET_RE = /^\/[^\0]{1,106}\.sock$/;

/** Writes a consumer page's header, the magic word last (a half-written header is not ours). `version` other than RING.VERSION: tests only. */
export function writePageHeader(page: ArrayBuffer, h: { version: number; capacity: number; maxRecordBytes: number; createdNs: number; wake: WakeMode }): void {
  const dv = new DataView(page);
  dv.setUint32(RING.OFF_VERSION, h.version, true);
  dv.setUint32(RING.OFF_HEADER_BYTES, RING.HEADER_BYTES, true);
  dv.setUint32(RING.OFF_MAX_PRODUCERS, RING.MAX_PRODUCERS, true);
  dv.setBigUint64(RING.OFF_CAPACITY, BigInt(h.capacity), true);
  dv.setUint32(RING.OFF_CONSUMER_PID, process.pid, true);
  dv.setUint32(RING.OFF_CONSUMER_STATE, RING.CONSUMER_OPEN, true);
  dv.setUint32(RING.OFF_RECORD_HEADER_BYTES, RING.RECORD_HEADER_BYTES, true);
  dv.setUint32(RING.OFF_RECORD_ALIGN, RING.RECORD_ALIGN, true);
  dv.setFloat64(RING.OFF_CREATED_NS, h.createdNs, true);
  dv.setUint32(RING.OFF_MAX_RECORD_BYTES, h.maxRecordBytes, true);
  dv.setUint32(RING.OFF_WAKE_MODE, h.wake === 'eventfd' ? RING.WAKE_EVENTFD : RING.WAKE_FUTEX, true);
  Atomics.store(new Int32Array(page), i32(RING.OFF_MAGIC), RING.MAGIC);
}

/** Creates the consumer page, writes its header and starts serving regions in `dir` (0700). */
export function createSegment(capacity: number, maxRecordBytes: number, dir?: string, wake: WakeMode = 'eventfd'): OwnSegment {
  if (!Number.isInteger(capacity) || capacity < MIN_RING_BYTES || capacity > MAX_RING_BYTES || capacity % RING.RECORD_ALIGN !== 0) {
    throw fbError('FB_ERR_BAD_NUMBER', `ringBytes must be a multiple of ${RING.RECORD_ALIGN} in [${MIN_RING_BYTES}, ${MAX_RING_BYTES}], got ${capacity}`);
  }
  const native = shmNative();
  let made: { fd: number; ab: ArrayBuffer | null };
  try {
    made = native.memfdCreate(RING.PAGE_BYTES, true, true, 'framebench-page', true);
  } catch (e) {
    throw nativeError(e, 'creating the ring page');
  }
  const page = made.ab as ArrayBuffer;
  const createdNs = nowNs();
  writePageHeader(page, { version: RING.VERSION, capacity, maxRecordBytes, createdNs, wake });
  const ownDir = dir === undefined ? mkdtempSync(path.join(os.tmpdir(), OWN_DIR_PREFIX)) : null; // mode 0700
  const name = path.join(ownDir ?? dir ?? '', `ring-${randomBytes(8).toString('hex')}.sock`);
  let server = -1;
  let peersWakeFd: number;
  try {
    if (!SOCKET_RE.test(name)) throw fbError('FB_ERR_USAGE', `ring socket path too long or not absolute: ${name}`);
    server = native.serveRing(name, made.fd, RING.HEADER_BYTES + capacity);
    peersWakeFd = native.ringWakeFd(server) ?? -1;
  } catch (e) {
    if (server >= 0) native.unserveFd(server);
    native.closeFd(made.fd);
    native.unmap(page);
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    throw nativeError(e, `serving the ring on ${name}`);
  }
  native.closeFd(made.fd); // the server keeps its own duplicate
  const files = { socket: name, dir: ownDir };
  track(files);
  let stopped = false;
  return {
    name,
    capacity,
    consumerPid: process.pid,
    createdNs,
    maxRecordBytes,
    wake,
    peersWakeFd,
    ...pageViews(page),
    events(): { added: Arrival[]; gone: number[] } {
      const ev = stopped ? null : native.ringEvents(server);
      if (!ev) return { added: [], gone: [] };
      const added: Arrival[] = [];
      for (const a of ev.added) {
        try {
          added.push({ index: a.index, pid: a.pid, uid: a.uid, region: regionViews(native.mapFd(a.fd, true)), wakeFd: a.efd });
        } catch {
          if (a.efd >= 0) native.closeFd(a.efd);
          native.dropPeer(server, a.index); // cannot map it (no memory): that producer is refused
        }
      }
      return { added, gone: ev.gone };
    },
    dropPeer(index: number): void {
      if (!stopped) native.dropPeer(server, index);
    },
    close(): void {
      if (stopped) return;
      stopped = true;
      native.unserveFd(server);
      untrack(files);
    },
  };
}

/** Fetches the page and this producer's region from the ring's socket, checks the seals, maps them, validates the page. */
export function openSegment(name: string): ProducerSegment {
  if (typeof name !== 'string' || !SOCKET_RE.test(name)) {
    throw fbError('FB_ERR_PROTOCOL', `not a framebench ring address (an absolute *.sock path): ${JSON.stringify(name)}`);
  }
  const native = shmNative();
  let peer: ReturnType<typeof native.fetchFd>;
  try {
    peer = native.fetchFd(name, FETCH_MS, true);
  } catch (e) {
    throw nativeError(e, `fetching the ring from ${name}`);
  }
  let page: ArrayBuffer | null = null;
  let region: ArrayBuffer | null = null;
  const open = [...peer.fds]; // descriptors not yet handed to mapFd (which closes what it is given)
  try {
    if (peer.fds.length < 2 || peer.fds.length > 3 || peer.index < 0 || peer.index >= RING.MAX_PRODUCERS) {
      throw fbError('FB_ERR_RING_CORRUPT', `${name}: expected the ring's page and a region of our own (and an eventfd), got ${peer.fds.length} descriptor(s), index ${peer.index}`);
    }
    page = native.mapFd(open.shift() as number, true, true);
    region = native.mapFd(open.shift() as number, true, false);
    const seg = validate(name, page, region, peer.index, peer.pid, peer.sock, open.length > 0 ? (open[0] as number) : -1);
    open.length = 0; // (the eventfd, if any, is the segment's now)
    return seg;
  } catch (e) {
    for (const ab of [page, region]) if (ab) native.unmap(ab);
    for (const f of open) native.closeFd(f);
    native.closeFd(peer.sock);
    throw e instanceof Error && (e as { code?: string }).code?.startsWith('FB_ERR_') ? e : nativeError(e, `mapping the ring from ${name}`);
  }
}

/**
 * Connects to the ring at `name` as a producer and maps its memory without validating anything:
 * what a hostile producer (or a test playing one) gets. The seals are still checked; the page is
 * read-only. Keep `sock` open to stay connected (closing it is leaving).
 */
export function mapRing(name: string): { page: ArrayBuffer; region: ArrayBuffer; index: number; sock: number; wakeFd: number } {
  const native = shmNative();
  const peer = native.fetchFd(name, FETCH_MS, true);
  if (peer.fds.length < 2 || peer.fds.length > 3) {
    for (const f of peer.fds) native.closeFd(f);
    native.closeFd(peer.sock);
    throw fbError('FB_ERR_RING_CORRUPT', `${name}: not a ring`);
  }
  return { page: native.mapFd(peer.fds[0], false, true), region: native.mapFd(peer.fds[1], false, false), index: peer.index, sock: peer.sock, wakeFd: peer.fds[2] ?? -1 };
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
    native.closeFd(native.fetchFd(name, 0, false, false).fd);
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

/** Checks every page field the producer relies on; throws FB_ERR_RING_CORRUPT if one is impossible (the caller unmaps). */
function validate(name: string, page: ArrayBuffer, region: ArrayBuffer, index: number, consumerPid: number, sock: number, wakeFd: number): ProducerSegment {
  const bad = (why: string): FbError => fbError('FB_ERR_RING_CORRUPT', `${name}: ${why}`);
  if (page.byteLength !== RING.PAGE_BYTES) throw bad(`page of ${page.byteLength} B`);
  const dv = new DataView(page);
  const u32 = (off: number): number => dv.getUint32(off, true);
  if (u32(RING.OFF_MAGIC) !== RING.MAGIC) throw bad('bad magic');
  if (u32(RING.OFF_VERSION) !== RING.VERSION) throw bad(`layout version ${u32(RING.OFF_VERSION)}, this producer speaks ${RING.VERSION} (peers of different framebench versions cannot share a ring)`);
  const mode = u32(RING.OFF_WAKE_MODE);
  const fdOk = mode === RING.WAKE_EVENTFD ? wakeFd >= 0 && shmNative().isEventfd(wakeFd) : mode === RING.WAKE_FUTEX && wakeFd < 0;
  if (!fdOk) throw bad(`wake mode ${mode} with ${wakeFd >= 0 ? 'an' : 'no'} eventfd`);
  if (u32(RING.OFF_HEADER_BYTES) !== RING.HEADER_BYTES || u32(RING.OFF_MAX_PRODUCERS) !== RING.MAX_PRODUCERS) throw bad('bad header geometry');
  if (u32(RING.OFF_RECORD_HEADER_BYTES) !== RING.RECORD_HEADER_BYTES || u32(RING.OFF_RECORD_ALIGN) !== RING.RECORD_ALIGN) throw bad('bad record geometry');
  const cap = dv.getBigUint64(RING.OFF_CAPACITY, true);
  if (cap < BigInt(MIN_RING_BYTES) || cap > BigInt(MAX_RING_BYTES) || cap % BigInt(RING.RECORD_ALIGN) !== 0n) throw bad(`bad capacity ${cap}`);
  const capacity = Number(cap);
  if (RING.HEADER_BYTES + capacity !== region.byteLength) throw bad(`capacity ${capacity} does not match the region (${region.byteLength} B)`);
  const maxRecordBytes = Math.min(u32(RING.OFF_MAX_RECORD_BYTES), capacity - RING.RECORD_HEADER_BYTES);
  return { name, capacity, consumerPid, createdNs: dv.getFloat64(RING.OFF_CREATED_NS, true), maxRecordBytes, ...pageViews(page), region: regionViews(region), index, sock, wakeFd };
}

/** Detaches every JS view of a mapping (they read as empty afterwards) and unmaps it. */
export function unmapQuietly(ab: ArrayBuffer): void {
  try {
    shmNative().unmap(ab);
  } catch {
    /* already unmapped */
  }
}

/** A producer's end: closes the connection (leaving), unmaps page and region. */
export function unmapSegment(seg: ProducerSegment): void {
  if (seg.sock >= 0) shmNative().closeFd(seg.sock);
  (seg as { sock: number }).sock = -1;
  if (seg.wakeFd >= 0) shmNative().closeFd(seg.wakeFd);
  (seg as { wakeFd: number }).wakeFd = -1;
  unmapQuietly(seg.region.ab);
  unmapQuietly(seg.page);
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

/** Offsets of hot words, precomputed for the typed-array views (page: P*, region: R*). */
export const IDX = {
  consumerState: i32(RING.OFF_CONSUMER_STATE),
  consumerWaiting: i32(RING.OFF_CONSUMER_WAITING),
  peersSeq: i32(RING.OFF_PEERS_SEQ),
  reserve: RING.OFF_RESERVE / 8,
  dataSeq: i32(RING.OFF_DATA_SEQ),
  producerWaiting: i32(RING.OFF_PRODUCER_WAITING),
  producerId: i32(RING.OFF_PRODUCER_ID),
  producerState: i32(RING.OFF_PRODUCER_STATE),
  commits: RING.OFF_COMMITS / 8,
  drops: RING.OFF_DROPS / 8,
} as const;
