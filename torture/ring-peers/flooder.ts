/**
 * A hostile producer that follows the record format but not the spirit: it maps the ring served
 * at argv[2] (or inherited as descriptor N: 'fd:N') and for argv[3] ms, in one synchronous loop (its own event loop never turns):
 * - argv[4] = 'pads': reserves the smallest pads (a header, no payload) as fast as the consumer
 *   frees space, signalling each one, so the consumer's scan always has another pad to skip;
 * - argv[4] = 'gap': claims a slot under a pid that is not its own (argv[5], a dead pid), reserves
 *   almost the whole ring and never seals it, so the consumer's gap recovery must walk it all.
 * Reports {type:'started'} once mapped, then {type:'done', pads}, and exits 0.
 */
import { ftruncateSync } from 'node:fs';
import { RING, i32, i64, slotOffset } from '../../transports/shm/layout';
import { shmNative } from '../../transports/shm/native';
import { mapRing } from '../../transports/shm/segment';
import { tell } from './peer-ipc';

const [name, ms, mode, fakePid] = [process.argv[2], Number(process.argv[3]), process.argv[4] || 'pads', Number(process.argv[5] || 0)];

/**
 * argv[2] = 'fd:N': the ring's descriptor was inherited as fd N (a producer under another uid,
 * which cannot reach the 0700 directory of the socket). Before mapping it, try to shrink and grow
 * it through that descriptor: reported in 'started' (EPERM: sealed).
 */
function truncateTries(fd: number): string[] {
  return [0, 1 << 30].map((size) => {
    try {
      ftruncateSync(fd, size);
      return 'succeeded';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  });
}
const inherited = name.startsWith('fd:') ? Number(name.slice(3)) : -1;
const truncate = inherited >= 0 ? truncateTries(inherited) : [];
const ab = inherited >= 0 ? shmNative().mapFd(inherited, false) : mapRing(name);
const dv = new DataView(ab);
const cap = Number(dv.getBigUint64(RING.OFF_CAPACITY, true));
const u64 = new BigUint64Array(ab, 0, (RING.HEADER_BYTES + cap) / 8);
const w = new Int32Array(ab, 0, RING.HEADER_BYTES / 4);
const A = RING.RECORD_ALIGN;
const seal = (pos: number, state: number): bigint => (BigInt(pos / A) << 2n) | BigInt(state);
tell({ type: 'started', uid: process.getuid?.() ?? -1, truncate });

/** Reserves `span` bytes at the reserve cursor if they fit now; returns the position or -1. */
function reserve(span: number): number {
  const old = Atomics.load(u64, i64(RING.OFF_RESERVE));
  const r = Number(old);
  const read = Number(Atomics.load(u64, i64(RING.OFF_READ)));
  const tail = cap - (r % cap);
  if (r + Math.min(span, tail) - read > cap) return -1;
  return Atomics.compareExchange(u64, i64(RING.OFF_RESERVE), old, BigInt(r + Math.min(span, tail))) === old ? r : -1;
}

function signal(): void {
  Atomics.add(w, i32(RING.OFF_DATA_SEQ), 1);
  if (Atomics.load(w, i32(RING.OFF_CONSUMER_WAITING)) !== 0) shmNative().futexWake(ab, RING.OFF_DATA_SEQ, 1);
}

let pads = 0;

/** The smallest pads, as fast as space frees, until the deadline. */
function floodPads(until: number): void {
  while (Date.now() < until) {
    const pos = reserve(RING.RECORD_HEADER_BYTES);
    if (pos < 0) continue;
    const base = RING.HEADER_BYTES + (pos % cap);
    dv.setUint32(base + RING.REC_LENGTH, 0, true);
    Atomics.store(u64, base / 8, seal(pos, RING.REC_PAD));
    pads++;
    signal();
  }
}

/** A slot under someone else's pid, and a reservation up to the end of the lap that is never sealed. */
function holdGap(until: number): void {
  const s = 63;
  Atomics.store(w, i32(slotOffset(s, RING.SLOT_PID)), fakePid);
  Atomics.store(w, i32(slotOffset(s, RING.SLOT_STATE)), RING.SLOT_ACTIVE);
  for (;;) {
    const r = Number(Atomics.load(u64, i64(RING.OFF_RESERVE)));
    const span = cap - (r % cap) - A;
    if (span >= A && reserve(span) === r) {
      dv.setUint32(RING.HEADER_BYTES + (r % cap) + RING.REC_SLOT, s, true);
      break;
    }
    if (Date.now() > until) break;
  }
  signal();
}

// one turn first, so that 'started' leaves before the attack holds this event loop
setTimeout(() => {
  if (mode === 'gap') holdGap(Date.now() + ms);
  else floodPads(Date.now() + ms);
  shmNative().unmap(ab);
  tell({ type: 'done', pads });
}, 20);
