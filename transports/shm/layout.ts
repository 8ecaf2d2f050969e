/**
 * Layout of the shared-memory ring, version 4: the TypeScript mirror of
 * native/src/ring_layout.h (test/shm-layout.test.ts checks that they agree).
 *
 * The consumer page (PAGE_BYTES; the consumer writes it, producers map it read-only):
 *   0      meta: magic, version, headerBytes, maxProducers, capacity, consumer pid/state,
 *          record geometry, createdNs, maxRecordBytes, consumerWaiting (0 awake, else the sleep's epoch),
 *          peersSeq (futex), wakeMode
 *   64     64 producer lines of 64 bytes: read cursor (u64), spaceSeq (futex), state
 * A producer's region (its own memfd; only it writes, the consumer only reads):
 *   0      reserve cursor (u64), dataSeq (futex), producerWaiting, commits, drops, producerId, producerState,
 *          signalNs (f64: its first eventfd write of the consumer's current sleep)
 *   4096   data area: `capacity` bytes of records, each RECORD_ALIGN-aligned and contiguous
 *
 * A record: 32-byte header then `length` payload bytes, padded to RECORD_ALIGN.
 *   0  u64 seal = (absolute position / RECORD_ALIGN) << 2 | state   (RESERVED, COMMITTED, PAD)
 *   8  u32 length   16 f64 commit time (ns)   24 u32 per-producer sequence
 * Cursors are monotonic byte counts; a position in the data area is cursor % capacity.
 */
export const RING = {
  MAGIC: 0x47524246,
  VERSION: 4,
  CACHE_LINE: 64,
  MAX_PRODUCERS: 64,
  PAGE_BYTES: 8192,
  HEADER_BYTES: 4096,
  RECORD_HEADER_BYTES: 32,
  RECORD_ALIGN: 32,
  REC_RESERVED: 1,
  REC_COMMITTED: 2,
  REC_PAD: 3,
  CONSUMER_OPEN: 1,
  CONSUMER_CLOSED: 2,
  LINE_FREE: 0,
  LINE_ACTIVE: 1,
  LINE_CUT: 2,
  PRODUCER_OPEN: 1,
  PRODUCER_CLOSED: 2,
  WAKE_FUTEX: 0,
  WAKE_EVENTFD: 1,
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
  OFF_CONSUMER_WAITING: 52,
  OFF_PEERS_SEQ: 56,
  OFF_WAKE_MODE: 60,
  OFF_LINES: 64,
  LINE_BYTES: 64,
  LINE_READ: 0,
  LINE_SPACE_SEQ: 8,
  LINE_STATE: 12,
  OFF_RESERVE: 0,
  OFF_DATA_SEQ: 8,
  OFF_PRODUCER_WAITING: 12,
  OFF_COMMITS: 16,
  OFF_DROPS: 24,
  OFF_PRODUCER_ID: 32,
  OFF_PRODUCER_STATE: 36,
  OFF_SIGNAL_NS: 40,
  REC_SEAL: 0,
  REC_LENGTH: 8,
  REC_COMMIT_NS: 16,
  REC_PRODUCER_SEQ: 24,
} as const;

/** Segment names of older framebench versions: `/framebench-<32 hex>`; the copy-accounting library's are `/framebench-cc-*`. */
export const SEGMENT_PREFIX = 'framebench-';
export const FOREIGN_PREFIX = 'framebench-cc-';

/** Smallest and largest data area accepted (bytes, per producer region). */
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
/** Byte offset of `field` in producer `index`'s line of the consumer page. */
export const lineOffset = (index: number, field: number): number => RING.OFF_LINES + index * RING.LINE_BYTES + field;
