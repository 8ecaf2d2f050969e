/**
 * A hostile producer that holds only what a producer is given (the consumer page, read-only, its
 * own region, its connection) and follows the record format but not the spirit. It connects to
 * the ring served at argv[2] (or inherits page, region and connection as descriptors:
 * 'fd:PAGE,REGION,SOCK') and for argv[3] ms, in one synchronous loop (its own event loop never turns):
 * - argv[4] = 'pads': writes the smallest pads (a header, no payload) into its region as fast as
 *   the consumer frees space, signalling each one, so the consumer's scan always has another pad;
 * - argv[4] = 'claim': reserves almost its whole region, seals it RESERVED and never commits,
 *   staying connected (alive): the consumer must cut it off after its claim timeout.
 * Before mapping, it attacks the page and region descriptors: truncate/grow (sealed: EPERM), a
 * writable mapping of the page (sealed F_SEAL_FUTURE_WRITE: EPERM), the same through a descriptor
 * reopened read-write via /proc/self/fd, a write() into the page, and mprotect(PROT_WRITE) of its
 * read-only mapping. Reports {type:'started', uid, index, truncate, pageWrite, pageProtect} once mapped, then {type:'done', pads} (after
 * the attack; it stays connected until argv[5] ms more have passed), and exits 0.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { RING, i32, lineOffset } from '../../transports/shm/layout';
import { shmNative } from '../../transports/shm/native';
import { tell } from './peer-ipc';

const [name, ms, mode, lingerMs] = [process.argv[2], Number(process.argv[3]), process.argv[4] || 'pads', Number(process.argv[5] || 0)];
const native = shmNative();

function attempt(f: () => unknown): string {
  try {
    f();
    return 'succeeded';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

let pageFd: number;
let regionFd: number;
let sock: number;
let index = -1;
if (name.startsWith('fd:')) {
  [pageFd, regionFd, sock] = name.slice(3).split(',').map(Number);
} else {
  const got = native.fetchFd(name, 5000, true);
  [pageFd, regionFd] = got.fds;
  sock = got.sock;
  index = got.index;
}
const truncate = [pageFd, regionFd].flatMap((fd) => [0, 1 << 30].map((size) => attempt(() => ftruncateSync(fd, size))));
// Writing the consumer page: a writable mapping through the very descriptor we were given (it is
// open read-write), through one reopened read-write via /proc/self/fd (same uid only), write().
const pageWrite = [
  attempt(() => native.mapFd(native.dupFd(pageFd), false, false)), // mapFd closes what it is given
  attempt(() => native.mapFd(openSync(`/proc/self/fd/${pageFd}`, 'r+'), false, false)),
  attempt(() => {
    const rw = openSync(`/proc/self/fd/${pageFd}`, 'r+');
    try {
      writeSync(rw, Buffer.from([1, 2, 3, 4]), 0, 4, RING.OFF_CONSUMER_STATE);
    } finally {
      closeSync(rw);
    }
  }),
];
const page = native.mapFd(pageFd, false, true);
const region = native.mapFd(regionFd, false, false);
// and making our read-only mapping of it writable in place (F_SEAL_FUTURE_WRITE took VM_MAYWRITE away: EACCES)
const pageProtect = attempt(() => native.mprotectWrite(page));
const pageI32 = new Int32Array(page);
const pageU64 = new BigUint64Array(page);
if (index < 0) index = -1; // inherited: the index is not needed below, the read cursor is found by trying
const dv = new DataView(region);
const cap = region.byteLength - RING.HEADER_BYTES;
const u64 = new BigUint64Array(region);
const w = new Int32Array(region, 0, RING.HEADER_BYTES / 4);
const A = RING.RECORD_ALIGN;
const seal = (pos: number, state: number): bigint => (BigInt(pos / A) << 2n) | BigInt(state);
tell({ type: 'started', uid: process.getuid?.() ?? -1, index, truncate, pageWrite, pageProtect });

/** The consumer's read cursor for us (or, inherited without an index, the largest one: ours is the only one that moves). */
function readCursor(): number {
  if (index >= 0) return Number(Atomics.load(pageU64, lineOffset(index, RING.LINE_READ) / 8));
  let best = 0;
  for (let i = 0; i < RING.MAX_PRODUCERS; i++) best = Math.max(best, Number(Atomics.load(pageU64, lineOffset(i, RING.LINE_READ) / 8)));
  return best;
}

let reserve = 0;
let pads = 0;

function signal(): void {
  Atomics.add(w, i32(RING.OFF_DATA_SEQ), 1);
  if (Atomics.load(pageI32, i32(RING.OFF_CONSUMER_WAITING)) !== 0) native.futexWake(region, RING.OFF_DATA_SEQ, 1);
}

/** The smallest pads, as fast as space frees, until the deadline. */
function floodPads(until: number): void {
  while (Date.now() < until) {
    const span = Math.min(RING.RECORD_HEADER_BYTES, cap - (reserve % cap));
    if (reserve + span - readCursor() > cap) continue;
    const base = RING.HEADER_BYTES + (reserve % cap);
    dv.setUint32(base + RING.REC_LENGTH, span - RING.RECORD_HEADER_BYTES, true);
    Atomics.store(u64, base / 8, seal(reserve, RING.REC_PAD));
    reserve += span;
    Atomics.store(u64, RING.OFF_RESERVE / 8, BigInt(reserve));
    pads++;
    signal();
  }
}

/** A claim over almost the whole region, sealed RESERVED, never committed. */
function holdClaim(): void {
  const len = cap - 2 * A;
  dv.setUint32(RING.HEADER_BYTES + RING.REC_LENGTH, len, true);
  Atomics.store(u64, RING.HEADER_BYTES / 8, seal(0, RING.REC_RESERVED));
  reserve = Math.ceil((RING.RECORD_HEADER_BYTES + len) / A) * A;
  Atomics.store(u64, RING.OFF_RESERVE / 8, BigInt(reserve));
  signal();
}

// one turn first, so that 'started' leaves before the attack holds this event loop
setTimeout(() => {
  if (mode === 'claim') holdClaim();
  else floodPads(Date.now() + ms);
  tell({ type: 'done', pads, cut: Atomics.load(pageI32, i32(lineOffset(Math.max(0, index), RING.LINE_STATE))) === RING.LINE_CUT });
  setTimeout(() => {
    Atomics.store(w, i32(RING.OFF_PRODUCER_STATE), RING.PRODUCER_CLOSED); // leaves like a producer that closed
    native.unmap(region);
    native.unmap(page);
    native.closeFd(sock);
  }, mode === 'claim' ? Math.max(ms, lingerMs) : lingerMs);
}, 20);
