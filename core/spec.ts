import { fbError } from './errors';
import { FORMAT_CODE, FORMATS, HEADER_BYTES, payloadBytesFor, writeHeader, type PixelFormat } from './frame';

/** What one frame looks like: format and size. Identical for every transport in a run. */
export interface FrameSpec {
  format: PixelFormat;
  width: number;
  height: number;
  /** Pixel bytes (3,110,400 for 1080p I420). */
  payloadBytes: number;
  /** Header + pixels: what a transport carries per frame. */
  totalBytes: number;
}

export const RESOLUTIONS: Record<string, [number, number]> = {
  '360p': [640, 360],
  '720p': [1280, 720],
  '1080p': [1920, 1080],
  '4k': [3840, 2160],
};

/** Largest side accepted; a 16384x16384 RGBA frame is already 1 GiB. */
export const MAX_SIDE = 16384;

export function parseFormat(s: string): PixelFormat {
  const f = s.trim().toLowerCase();
  if (!(FORMATS as readonly string[]).includes(f)) {
    throw fbError('FB_ERR_BAD_FORMAT', `unknown format '${s}' (expected one of: ${FORMATS.join(', ')})`);
  }
  return f as PixelFormat;
}

export function parseResolution(s: string): [number, number] {
  const key = s.trim().toLowerCase();
  const preset = RESOLUTIONS[key];
  if (preset) return [preset[0], preset[1]];
  const m = /^(\d{1,6})x(\d{1,6})$/.exec(key);
  if (!m) {
    throw fbError('FB_ERR_BAD_RESOLUTION', `resolution '${s}' is neither a preset (${Object.keys(RESOLUTIONS).join(', ')}) nor WxH`);
  }
  const w = Number(m[1]);
  const h = Number(m[2]);
  if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE) {
    throw fbError('FB_ERR_BAD_RESOLUTION', `resolution ${w}x${h} is impossible (each side 1..${MAX_SIDE})`);
  }
  return [w, h];
}

export function frameSpec(format: PixelFormat, width: number, height: number): FrameSpec {
  if (format === 'i420' && (width % 2 !== 0 || height % 2 !== 0)) {
    throw fbError('FB_ERR_BAD_RESOLUTION', `I420 needs even width and height, got ${width}x${height}`);
  }
  const payloadBytes = payloadBytesFor(format, width, height);
  return { format, width, height, payloadBytes, totalBytes: payloadBytes + HEADER_BYTES };
}

export function resolutionLabel(width: number, height: number): string {
  for (const [k, [w, h]] of Object.entries(RESOLUTIONS)) if (w === width && h === height) return k;
  return `${width}x${height}`;
}

/** Writes the header of frame `seq` of this spec (every frame source uses this one routine). */
export function writeSpecHeader(dv: DataView, spec: FrameSpec, producerId: number, seq: number, sendTimeNs: number, scheduledNs: number): void {
  writeHeader(dv, {
    format: FORMAT_CODE[spec.format],
    producerId,
    seq,
    sendTimeNs,
    scheduledNs,
    width: spec.width,
    height: spec.height,
    payloadBytes: spec.payloadBytes,
  });
}
