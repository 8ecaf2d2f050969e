import { fbError } from '../core/errors';

/**
 * RGBA -> I420 (planar Y, then U, then V; chroma subsampled 2x2), BT.601 limited range:
 *
 *   Y  = 16  + ( 65.481 R + 128.553 G +  24.966 B) / 255
 *   Cb = 128 + (-37.797 R -  74.203 G + 112.000 B) / 255
 *   Cr = 128 + (112.000 R -  93.786 G -  18.214 B) / 255
 *
 * rounded to nearest. Chroma is computed from the rounded average of each 2x2 block's
 * R, G, B (as libyuv does), so a block of two red and two black pixels gives Cb 109, Cr 184.
 * Alpha is ignored. Fixed point with 16 fractional bits: the worst-case error of the
 * scaled coefficients (3 x 0.5/65536 x 255 < 0.006) never moves a rounding step for
 * 8-bit inputs except when the exact value sits within 0.006 of .5.
 *
 * The page (fixtures/page/call.js) has its own copy of this arithmetic for live mode.
 */

const FIX = 16;
const HALF = 1 << (FIX - 1);
const k = (c: number): number => Math.round((c / 255) * (1 << FIX));

export const BT601 = {
  yr: k(65.481), yg: k(128.553), yb: k(24.966),
  ur: k(-37.797), ug: k(-74.203), ub: k(112.0),
  vr: k(112.0), vg: k(-93.786), vb: k(-18.214),
} as const;

const Y_OFF = (16 << FIX) + HALF;
const C_OFF = (128 << FIX) + HALF;

/** Bytes of one I420 frame. */
export function i420Bytes(width: number, height: number): number {
  return (width * height * 3) / 2;
}

/**
 * Converts `rgba` (width*height*4 bytes, rows packed) into `out` (width*height*3/2 bytes).
 * Width and height must be even. `out` may be a view into a larger buffer (e.g. after a header).
 */
export function rgbaToI420(rgba: Uint8Array, width: number, height: number, out: Uint8Array): Uint8Array {
  if (width % 2 !== 0 || height % 2 !== 0) {
    throw fbError('FB_ERR_BAD_RESOLUTION', `I420 needs even width and height, got ${width}x${height}`);
  }
  if (rgba.byteLength < width * height * 4) {
    throw fbError('FB_ERR_INTERNAL', `rgbaToI420: source holds ${rgba.byteLength} B, ${width}x${height} RGBA needs ${width * height * 4}`);
  }
  if (out.byteLength < i420Bytes(width, height)) {
    throw fbError('FB_ERR_INTERNAL', `rgbaToI420: destination holds ${out.byteLength} B, needs ${i420Bytes(width, height)}`);
  }
  const { yr, yg, yb, ur, ug, ub, vr, vg, vb } = BT601;
  const cw = width >> 1;
  const uBase = width * height;
  const vBase = uBase + cw * (height >> 1);
  const stride = width * 4;
  for (let y = 0; y < height; y += 2) {
    let s0 = y * stride; // top row of the block
    let s1 = s0 + stride; // bottom row
    let y0 = y * width;
    let y1 = y0 + width;
    let c = uBase + (y >> 1) * cw;
    let cv = vBase + (y >> 1) * cw;
    for (let x = 0; x < width; x += 2) {
      const r0 = rgba[s0], g0 = rgba[s0 + 1], b0 = rgba[s0 + 2];
      const r1 = rgba[s0 + 4], g1 = rgba[s0 + 5], b1 = rgba[s0 + 6];
      const r2 = rgba[s1], g2 = rgba[s1 + 1], b2 = rgba[s1 + 2];
      const r3 = rgba[s1 + 4], g3 = rgba[s1 + 5], b3 = rgba[s1 + 6];
      out[y0++] = (yr * r0 + yg * g0 + yb * b0 + Y_OFF) >> FIX;
      out[y0++] = (yr * r1 + yg * g1 + yb * b1 + Y_OFF) >> FIX;
      out[y1++] = (yr * r2 + yg * g2 + yb * b2 + Y_OFF) >> FIX;
      out[y1++] = (yr * r3 + yg * g3 + yb * b3 + Y_OFF) >> FIX;
      const r = (r0 + r1 + r2 + r3 + 2) >> 2;
      const g = (g0 + g1 + g2 + g3 + 2) >> 2;
      const b = (b0 + b1 + b2 + b3 + 2) >> 2;
      out[c++] = (ur * r + ug * g + ub * b + C_OFF) >> FIX;
      out[cv++] = (vr * r + vg * g + vb * b + C_OFF) >> FIX;
      s0 += 8;
      s1 += 8;
    }
  }
  return out;
}

/** Float reference of one pixel (used by tests): [Y, Cb, Cr] rounded to nearest. */
export function bt601Reference(r: number, g: number, b: number): [number, number, number] {
  return [
    Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255),
    Math.round(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255),
    Math.round(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255),
  ];
}
