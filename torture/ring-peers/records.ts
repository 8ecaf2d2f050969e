/**
 * Records of the ring's own tests and torture peers:
 * [u32 producer][u32 seq][u32 length][u32 checksum][deterministic bytes...].
 */
export const HEAD = 16;

function fnv1a(u8: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ u8[i], 0x01000193);
  return h >>> 0;
}

/** Writes record (producer, seq) of view.byteLength (>= 16) bytes into view. */
export function fillRecord(view: Uint8Array, producer: number, seq: number): void {
  const len = view.byteLength;
  let x = (Math.imul(producer + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca77)) >>> 0 || 1;
  for (let i = HEAD; i < len; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    view[i] = x & 0xff;
  }
  const dv = new DataView(view.buffer, view.byteOffset, len);
  dv.setUint32(0, producer, true);
  dv.setUint32(4, seq, true);
  dv.setUint32(8, len, true);
  dv.setUint32(12, fnv1a(view, HEAD, len), true);
}

/** Checks a record; returns {producer, seq} or a string saying what is wrong. */
export function checkRecord(view: Uint8Array): { producer: number; seq: number } | string {
  if (view.byteLength < HEAD) return `record of ${view.byteLength} B`;
  const dv = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const producer = dv.getUint32(0, true);
  const seq = dv.getUint32(4, true);
  if (dv.getUint32(8, true) !== view.byteLength) return `p${producer} #${seq}: length ${dv.getUint32(8, true)} in a ${view.byteLength} B record`;
  if (dv.getUint32(12, true) !== fnv1a(view, HEAD, view.byteLength)) return `p${producer} #${seq}: bad checksum`;
  return { producer, seq };
}

/** xorshift32 PRNG. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 4294967296;
  };
}
