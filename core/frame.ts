/**
 * The frame header every transport carries in front of the pixels.
 *
 *  offset size field
 *   0     4    magic 0x46424631 ('FBF1')
 *   4     2    version (1)
 *   6     2    format (0 = i420, 1 = rgba)
 *   8     4    producer id
 *  12     4    header bytes (64)
 *  16     8    sequence number (u64, little-endian)
 *  24     8    send time, monotonic ns (f64): taken before the frame is filled or handed over
 *  32     8    scheduled time, monotonic ns (f64): when the pacer meant to send it (0 = unpaced)
 *  40     4    width
 *  44     4    height
 *  48     4    payload length (pixel bytes after the header)
 *  52     4    checksum A of the payload (core/checksum.ts, docs/checksum.md) when flags bit 0 is set
 *  56     4    checksum B of the payload when flags bit 0 is set
 *  60     4    flags: bit 0 = bytes 52..59 hold the payload checksum; other bits 0
 *
 * writeHeader leaves 52..63 at 0 (no checksum); a source that checksums its frames stamps them
 * with writeChecksum. Live Chromium frames use 52 for their sampled checksum and 56 for the
 * 'LIVE' tag, with flags 0 (sources/chromium-live.ts).
 *
 * All multi-byte fields are little-endian. A frame on the wire is HEADER_BYTES + payload.
 */
export const FRAME_MAGIC = 0x46424631;
export const FRAME_VERSION = 1;
export const HEADER_BYTES = 64;

export type PixelFormat = 'i420' | 'rgba';
export const FORMAT_CODE: Record<PixelFormat, number> = { i420: 0, rgba: 1 };
export const FORMATS: readonly PixelFormat[] = ['i420', 'rgba'];

export interface FrameHeader {
  magic: number;
  version: number;
  format: number;
  producerId: number;
  headerBytes: number;
  seq: number;
  sendTimeNs: number;
  scheduledNs: number;
  width: number;
  height: number;
  payloadBytes: number;
}

/** Pixel bytes of one frame (I420: w*h*3/2; RGBA: w*h*4). */
export function payloadBytesFor(format: PixelFormat, width: number, height: number): number {
  return format === 'i420' ? (width * height * 3) / 2 : width * height * 4;
}

export function writeHeader(view: DataView, h: Omit<FrameHeader, 'magic' | 'version' | 'headerBytes'>): void {
  view.setUint32(0, FRAME_MAGIC, true);
  view.setUint16(4, FRAME_VERSION, true);
  view.setUint16(6, h.format, true);
  view.setUint32(8, h.producerId, true);
  view.setUint32(12, HEADER_BYTES, true);
  view.setUint32(16, h.seq % 0x100000000, true);
  view.setUint32(20, Math.floor(h.seq / 0x100000000), true);
  view.setFloat64(24, h.sendTimeNs, true);
  view.setFloat64(32, h.scheduledNs, true);
  view.setUint32(40, h.width, true);
  view.setUint32(44, h.height, true);
  view.setUint32(48, h.payloadBytes, true);
  view.setUint32(52, 0, true);
  view.setUint32(56, 0, true);
  view.setUint32(60, 0, true);
}

/** Reads a header without trusting it; callers validate the fields. `out` is reused to avoid allocation. */
export function readHeader(view: DataView, out: FrameHeader): FrameHeader {
  out.magic = view.getUint32(0, true);
  out.version = view.getUint16(4, true);
  out.format = view.getUint16(6, true);
  out.producerId = view.getUint32(8, true);
  out.headerBytes = view.getUint32(12, true);
  out.seq = view.getUint32(16, true) + view.getUint32(20, true) * 0x100000000;
  out.sendTimeNs = view.getFloat64(24, true);
  out.scheduledNs = view.getFloat64(32, true);
  out.width = view.getUint32(40, true);
  out.height = view.getUint32(44, true);
  out.payloadBytes = view.getUint32(48, true);
  return out;
}

export function emptyHeader(): FrameHeader {
  return { magic: 0, version: 0, format: 0, producerId: 0, headerBytes: 0, seq: 0, sendTimeNs: 0, scheduledNs: 0, width: 0, height: 0, payloadBytes: 0 };
}

export const OFF_CHECKSUM_A = 52;
export const OFF_CHECKSUM_B = 56;
export const OFF_FLAGS = 60;
/** Flags bit 0: bytes 52..59 hold the payload checksum [A, B]. */
export const FLAG_CHECKSUM = 1;

/** Stamps the payload checksum [A, B] into the header and sets its flag. */
export function writeChecksum(view: DataView, a: number, b: number): void {
  view.setUint32(OFF_CHECKSUM_A, a >>> 0, true);
  view.setUint32(OFF_CHECKSUM_B, b >>> 0, true);
  view.setUint32(OFF_FLAGS, FLAG_CHECKSUM, true);
}

/** Whether the header carries a payload checksum (flags bit 0). */
export function hasChecksum(view: DataView): boolean {
  return (view.getUint32(OFF_FLAGS, true) & FLAG_CHECKSUM) !== 0;
}

/** A DataView over exactly the header bytes of `frame` (no copy). */
export function headerView(frame: Uint8Array): DataView {
  return new DataView(frame.buffer, frame.byteOffset, Math.min(frame.byteLength, HEADER_BYTES));
}
