/**
 * A hostile producer scribbling: it connects to the ring served at argv[2] like any producer and
 * gets what producers get: the consumer page (read-only) and a region of its own. For argv[3] ms
 * (argv[4] = seed) it writes random bytes over its region: argv[5] = 'all' hits the region header
 * (reserve cursor, futex words, counters) too; 'records' spares the header words except the
 * reserve cursor, which it moves to plausible places over well-sealed records with random
 * lengths and states. It cannot reach the page (a store into it would kill this process: it is
 * mapped read-only) nor any other producer's region (it holds no descriptor of one). Stays
 * connected while scribbling, then exits 0. Reports {type:'started', index, pid}, {type:'done', writes}.
 */
import { RING } from '../../transports/shm/layout';
import { shmNative } from '../../transports/shm/native';
import { mapRing } from '../../transports/shm/segment';
import { tell } from './peer-ipc';
import { rng } from './records';

const [name, ms, seed, where] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] || 1), process.argv[5] || 'all'];
const ring = mapRing(name);
const ab = ring.region;
const u8 = new Uint8Array(ab);
const u32 = new Uint32Array(ab);
const u64 = new BigUint64Array(ab);
const dv = new DataView(ab);
const cap = ab.byteLength - RING.HEADER_BYTES;
const A = RING.RECORD_ALIGN;
const rand = rng(seed);
const until = Date.now() + ms;
let writes = 0;

function word(): number {
  return (rand() * 4294967296) >>> 0;
}

/** A sealed record header at an aligned position near the reserve cursor, with a random length and state. */
function fakeRecord(): void {
  const reserve = Number(Atomics.load(u64, RING.OFF_RESERVE / 8));
  const pos = Number.isSafeInteger(reserve) && reserve % A === 0 && reserve < 2 ** 40 ? reserve : 0;
  const base = RING.HEADER_BYTES + (pos % cap);
  const state = 1 + Math.floor(rand() * 3);
  dv.setUint32(base + RING.REC_LENGTH, rand() < 0.5 ? Math.floor(rand() * 256) : word(), true);
  Atomics.store(u64, base / 8, (BigInt(pos / A) << 2n) | BigInt(state));
  const step = A * (1 + Math.floor(rand() * 64));
  Atomics.store(u64, RING.OFF_RESERVE / 8, BigInt(pos + step));
  Atomics.add(new Int32Array(ab, 0, 16), RING.OFF_DATA_SEQ / 4, 1);
  shmNative().futexWake(ab, RING.OFF_DATA_SEQ, 1);
}

function burst(): void {
  for (let i = 0; i < 200; i++) {
    const r = rand();
    if (where === 'records' || r < 0.2) fakeRecord();
    else if (r < 0.4) u32[Math.floor(rand() * 16)] = word(); // region header words
    else if (r < 0.7) u32[RING.HEADER_BYTES / 4 + Math.floor(rand() * (cap / A)) * (A / 4) + Math.floor(rand() * 4)] = word(); // record headers
    else u8[RING.HEADER_BYTES + Math.floor(rand() * cap)] = (rand() * 256) | 0;
    writes++;
  }
  if (Date.now() < until) setTimeout(burst, 1);
  else {
    shmNative().unmap(ab);
    shmNative().unmap(ring.page);
    shmNative().closeFd(ring.sock);
    tell({ type: 'done', writes });
  }
}

tell({ type: 'started', index: ring.index, pid: process.pid });
burst();
