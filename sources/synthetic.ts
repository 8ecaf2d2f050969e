import type { FrameSource, FrameVerifier } from './source';
import { HEADER_BYTES, writeChecksum } from '../core/frame';
import { checksum, replaceWord } from '../core/checksum';
import { writeSpecHeader, type FrameSpec } from '../core/spec';

/**
 * Synthetic frames whose content is a deterministic function of (producer, sequence):
 *  - a per-producer pseudo-random template (made once, reused for every frame), and
 *  - one 32-bit stamp per 4 KiB page, a hash of (producer, sequence, page).
 *
 * `fill` writes the whole frame into the destination (one full pass over the bytes,
 * standing for the decoder writing its output), so no transport can look cheap by
 * sending memory nobody wrote.
 *
 * Each frame also carries the payload checksum (core/checksum.ts) in its header, at no extra
 * pass: the template's checksum is computed once per frame size, and each stamp updates it
 * (a replaced word changes A by new − old and B by (i + 1) · (new − old)). The consumer's
 * default check reads every byte against that checksum; `--verify sample` checks only the
 * stamps (SyntheticVerifier), which touches every page but reads 1/1024 of the bytes.
 */
export const PAGE_BYTES = 4096;
const WORDS_PER_PAGE = PAGE_BYTES / 4;

export function stampOffsets(totalBytes: number): number {
  // stamps at HEADER_BYTES + k*PAGE_BYTES while a whole u32 fits
  if (totalBytes < HEADER_BYTES + 4) return 0;
  return Math.floor((totalBytes - HEADER_BYTES - 4) / PAGE_BYTES) + 1;
}

export function stampValue(producerId: number, seq: number, page: number): number {
  let h = Math.imul(seq | 0, 0x9e3779b1) ^ Math.imul((seq / 0x100000000) | 0, 0x7feb352d);
  h ^= Math.imul(page + 1, 0x85ebca77);
  h ^= Math.imul(producerId + 1, 0xc2b2ae3d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Deterministic bytes for a producer: xorshift32 seeded by the producer id. */
export function makeTemplate(totalBytes: number, producerId: number): Uint8Array {
  const words = Math.ceil(totalBytes / 4);
  const u32 = new Uint32Array(words);
  let x = (producerId + 1) * 2654435761 >>> 0 || 1;
  for (let i = 0; i < words; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    u32[i] = x;
  }
  return new Uint8Array(u32.buffer, 0, totalBytes);
}

export class SyntheticSource implements FrameSource {
  readonly spec: FrameSpec;
  private readonly template: Uint8Array;
  private readonly stamps: number;
  /** Checksum [A, B] of the template's payload, and the template word under each stamp. */
  private readonly baseSum: Uint32Array;
  private readonly underStamp: Uint32Array;
  private readonly sum = new Uint32Array(2);
  readonly producerId: number;

  constructor(spec: FrameSpec, producerId: number) {
    this.spec = spec;
    this.producerId = producerId;
    this.template = makeTemplate(spec.totalBytes, producerId);
    this.stamps = stampOffsets(spec.totalBytes);
    this.baseSum = Uint32Array.from(checksum(this.template.subarray(HEADER_BYTES)));
    const tv = new DataView(this.template.buffer, this.template.byteOffset, spec.totalBytes);
    this.underStamp = new Uint32Array(this.stamps);
    for (let p = 0; p < this.stamps; p++) this.underStamp[p] = tv.getUint32(HEADER_BYTES + p * PAGE_BYTES, true);
  }

  /** Writes header + payload of frame `seq` into `dest` (dest.byteLength >= spec.totalBytes). */
  fill(dest: Uint8Array, seq: number, sendTimeNs: number, scheduledNs: number): void {
    const spec = this.spec;
    dest.set(this.template.subarray(0, spec.totalBytes));
    const dv = new DataView(dest.buffer, dest.byteOffset, spec.totalBytes);
    writeSpecHeader(dv, spec, this.producerId, seq, sendTimeNs, scheduledNs);
    const sum = this.sum;
    sum.set(this.baseSum);
    for (let p = 0, off = HEADER_BYTES; p < this.stamps; p++, off += PAGE_BYTES) {
      const v = stampValue(this.producerId, seq, p);
      dv.setUint32(off, v, true);
      replaceWord(sum, p * WORDS_PER_PAGE, this.underStamp[p], v);
    }
    writeChecksum(dv, sum[0], sum[1]);
  }
}

/**
 * Checks a received frame's content. Cheap mode reads every page's stamp; full mode also
 * compares every other byte with the producer's template.
 */
export class SyntheticVerifier implements FrameVerifier {
  private readonly templates = new Map<number, Uint8Array>();
  constructor(private readonly full: boolean) {}

  /** Returns null when the frame is right, else a short reason. `frame` holds header + payload. */
  verify(frame: Uint8Array, producerId: number, seq: number): string | null {
    const total = frame.byteLength;
    const dv = new DataView(frame.buffer, frame.byteOffset, total);
    const stamps = stampOffsets(total);
    for (let p = 0, off = HEADER_BYTES; p < stamps; p++, off += PAGE_BYTES) {
      if (dv.getUint32(off, true) !== stampValue(producerId, seq, p)) return `page ${p} stamp mismatch`;
    }
    if (!this.full) return null;
    let t = this.templates.get(producerId);
    if (!t || t.byteLength !== total) {
      t = makeTemplate(total, producerId);
      this.templates.set(producerId, t);
    }
    // compare the bytes between stamps (the stamps were checked above)
    let start = HEADER_BYTES;
    for (let p = 0; p <= stamps; p++) {
      const stampAt = HEADER_BYTES + p * PAGE_BYTES;
      const end = p < stamps ? stampAt : total;
      if (end > start && Buffer.compare(frame.subarray(start, end), t.subarray(start, end)) !== 0) {
        return `payload bytes differ in [${start}, ${end})`;
      }
      start = stampAt + 4;
    }
    return null;
  }
}
