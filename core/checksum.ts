/**
 * The framebench payload checksum (specified in docs/checksum.md), JavaScript reference.
 *
 * Over the payload only (never the header), read as little-endian u32 words w_0..w_{m-1},
 * m = ceil(n / 4), the last partial word zero-padded:
 *
 *   A = Σ w_i           mod 2^32
 *   B = Σ (i + 1) · w_i mod 2^32
 *
 * Any single-byte change alters A; a block moved elsewhere alters B. The native version
 * (native/src/checksum.c) computes the same two words at memory speed; this one is the
 * reference and the fallback when the addon is missing. No BigInt: 32-bit integer arithmetic
 * only (`| 0`, Math.imul), so a browser page computes it the same way.
 *
 * The incremental form is what lets a producer stamp a checksum without reading the frame:
 * replacing word i (old → new) changes A by d = new − old and B by (i + 1) · d (mod 2^32).
 */

/** Words per chunk when the input is not 4-byte aligned: copied to aligned scratch first. */
const CHUNK_WORDS = 16384;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
let scratch: Int32Array | null = null;
/** [A, B] of the last span, with word indices counted from the span's start. */
const part = new Int32Array(2);

/** A script that defines `globalThis.framebenchSpan` as checksumSpan, for a page (evaluateOnNewDocument). */
export const CHECKSUM_SPAN_SCRIPT = (): string => `globalThis.framebenchSpan = ${checksumSpan.toString()};`;

/**
 * A and B of w[0..count) into `out`, with additions only in the loop: four lanes, lane l
 * holding the words 4k + l of blocks k = 0..K-1; per block S_l += w and Q_l += S_l, so that
 * Σ_k k · w_{4k+l} = K · S_l − Q_l and B = Σ_l [4 (K · S_l − Q_l) + (l + 1) · S_l] (mod 2^32).
 * Int32Array words: every value is a small integer to V8 (a Uint32Array word ≥ 2^31 is not).
 * Self-contained (no outer name but Math): the browser pages get this very function as
 * `globalThis.framebenchSpan` (CHECKSUM_SPAN_SCRIPT, injected by sources/browser.ts), so the
 * page's checksum is this code, not a copy of it.
 */
export function checksumSpan(w: Int32Array, count: number, out: Int32Array): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let q0 = 0, q1 = 0, q2 = 0, q3 = 0;
  const K = count >>> 2;
  const end = K * 4;
  for (let i = 0; i < end; i += 4) {
    s0 = (s0 + w[i]) | 0;
    s1 = (s1 + w[i + 1]) | 0;
    s2 = (s2 + w[i + 2]) | 0;
    s3 = (s3 + w[i + 3]) | 0;
    q0 = (q0 + s0) | 0;
    q1 = (q1 + s1) | 0;
    q2 = (q2 + s2) | 0;
    q3 = (q3 + s3) | 0;
  }
  let a = (((s0 + s1) | 0) + ((s2 + s3) | 0)) | 0;
  let b = (Math.imul(4, (Math.imul(K, s0) - q0) | 0) + s0) | 0;
  b = (b + Math.imul(4, (Math.imul(K, s1) - q1) | 0) + Math.imul(2, s1)) | 0;
  b = (b + Math.imul(4, (Math.imul(K, s2) - q2) | 0) + Math.imul(3, s2)) | 0;
  b = (b + Math.imul(4, (Math.imul(K, s3) - q3) | 0) + Math.imul(4, s3)) | 0;
  for (let i = end; i < count; i++) {
    a = (a + w[i]) | 0;
    b = (b + Math.imul(i + 1, w[i])) | 0;
  }
  out[0] = a;
  out[1] = b;
}

/** Writes [A, B] of `bytes` into out[0], out[1] (no allocation once warm). */
export function checksumInto(bytes: Uint8Array, out: Uint32Array): void {
  const n = bytes.byteLength;
  const whole = n >>> 2;
  let a = 0;
  let b = 0;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    checksumSpan(new Int32Array(bytes.buffer, bytes.byteOffset, whole), whole, part);
    a = part[0];
    b = part[1];
  } else if (LITTLE_ENDIAN) {
    const buf = (scratch = scratch ?? new Int32Array(CHUNK_WORDS));
    const bytesView = new Uint8Array(buf.buffer);
    for (let base = 0; base < whole; base += CHUNK_WORDS) {
      const count = Math.min(CHUNK_WORDS, whole - base);
      bytesView.set(bytes.subarray(base * 4, (base + count) * 4));
      checksumSpan(buf, count, part);
      // words of this chunk are base + j: B gains its local B plus base · (its A)
      a = (a + part[0]) | 0;
      b = (b + part[1] + Math.imul(base, part[0])) | 0;
    }
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
    for (let i = 0; i < whole; i++) {
      const w = dv.getInt32(i * 4, true);
      a = (a + w) | 0;
      b = (b + Math.imul(i + 1, w)) | 0;
    }
  }
  const rest = n - whole * 4;
  if (rest > 0) {
    let last = 0;
    for (let k = rest - 1; k >= 0; k--) last = (last << 8) | bytes[whole * 4 + k];
    a = (a + last) | 0;
    b = (b + Math.imul(whole + 1, last)) | 0;
  }
  out[0] = a;
  out[1] = b;
}

/** [A, B] of `bytes` (allocates; checksumInto does not). */
export function checksum(bytes: Uint8Array): [number, number] {
  const out = new Uint32Array(2);
  checksumInto(bytes, out);
  return [out[0], out[1]];
}

/**
 * Updates [A, B] in `sum` for word `index` (0-based, in payload words) replaced: oldWord → newWord.
 * Both words are the little-endian u32 values at payload byte offset 4 · index.
 */
export function replaceWord(sum: Uint32Array, index: number, oldWord: number, newWord: number): void {
  const d = (newWord - oldWord) | 0;
  sum[0] = (sum[0] + d) | 0;
  sum[1] = (sum[1] + Math.imul(index + 1, d)) | 0;
}
