/**
 * Layout of the shared-memory ring, version 1: the TypeScript mirror of
 * native/src/ring_layout.h (test/shm-layout.test.ts checks that they agree).
 *
 *   0      line 0  meta: magic, version, sizes, capacity, consumer pid/state, createdNs, maxRecordBytes
 *   64     line 1  reserve cursor (u64)            producers: CAS
 *   128    line 2  read cursor (u64), spaceSeq, producersWaiting      consumer writes
 *   192    line 3  dataSeq, consumerWaiting, commits (u64)            producers write
 *   256    64 producer slots of 64 bytes: pid, state, producerId, commits, drops
 *   8192   data area: `capacity` bytes of records, each RECORD_ALIGN-aligned and contiguous
 *
 * A record: 32-byte header then `length` payload bytes, padded to RECORD_ALIGN.
 *   0  u64 seal = (absolute position / RECORD_ALIGN) << 2 | state   (RESERVED, COMMITTED, PAD)
 *   8  u32 length   12 u32 producer slot   16 f64 commit time (ns)   24 u32 per-slot sequence
 * Cursors are monotonic byte counts; a position in the data area is cursor % capacity.
 */
export const RING = {
  MAGIC: 0x47524246,
  VERSION: 1,
  CACHE_LINE: 64,
  MAX_PRODUCERS: 64,
  HEADER_BYTES: 8192,
  RECORD_HEADER_BYTES: 32,
  RECORD_ALIGN: 32,
  REC_RESERVED: 1,
  REC_COMMITTED: 2,
  REC_PAD: 3,
  CONSUMER_OPEN: 1,
  CONSUMER_CLOSED: 2,
  SLOT_FREE: 0,
  SLOT_ACTIVE: 1,
  SLOT_DEAD: 2,
  OFF_MAGIC: 0,
  OFF_VERSION: 4,
  OFF_HEADER_BYTES: 8,
  OFF_MAX_PRODUCERS: 12,
  OFF_CAPACITY: 16,
  OFF_CONSUMER_PID: 24,
  OFF_CONSUMER_STATE: 28,
  OFF_RECORD_HEADER_BYTES: 32,
  OFF_RECORD_ALIGN: 36,
  OFF_CREATED_NS: 40,
  OFF_MAX_RECORD_BYTES: 48,
  OFF_RESERVE: 64,
  OFF_READ: 128,
  OFF_SPACE_SEQ: 136,
  OFF_PRODUCERS_WAITING: 140,
  OFF_DATA_SEQ: 192,
  OFF_CONSUMER_WAITING: 196,
  OFF_COMMITS: 200,
  OFF_SLOTS: 256,
  SLOT_BYTES: 64,
  SLOT_PID: 0,
  SLOT_STATE: 4,
  SLOT_PRODUCER_ID: 8,
  SLOT_COMMITS: 16,
  SLOT_DROPS: 24,
  REC_SEAL: 0,
  REC_LENGTH: 8,
  REC_SLOT: 12,
  REC_COMMIT_NS: 16,
  REC_PRODUCER_SEQ: 24,
} as const;

/** Segment names: `/framebench-<32 hex>`; the copy-accounting library's are `/framebench-cc-*`. */
export const SEGMENT_PREFIX = 'framebench-';
export const FOREIGN_PREFIX = 'framebench-cc-';

/** Smallest and largest data area accepted (bytes). */
export const MIN_RING_BYTES = 256;
export const MAX_RING_BYTES = 2 ** 31;
export const DEFAULT_RING_BYTES = 64 * 1024 * 1024;

/** Bytes a record of `length` payload bytes occupies in the ring. */
export function recordSpan(length: number): number {
  const a = RING.RECORD_ALIGN;
  return Math.ceil((RING.RECORD_HEADER_BYTES + length) / a) * a;
}

/** The seal word of a record at absolute position `pos` in state `state`. */
export function sealOf(pos: number, state: number): bigint {
  return (BigInt(pos / RING.RECORD_ALIGN) << 2n) | BigInt(state);
}

/** Index of a u32 / u64 field in Int32Array / BigUint64Array views of the mapping. */
export const i32 = (byteOffset: number): number => byteOffset >> 2;
export const i64 = (byteOffset: number): number => byteOffset / 8;
export const slotOffset = (slot: number, field: number): number => RING.OFF_SLOTS + slot * RING.SLOT_BYTES + field;
