import { describe, expect, it } from 'vitest';
import { bt601Reference, i420Bytes, rgbaToI420 } from '../sources/convert';
import type { FbError } from '../core/errors';

/** A width x height RGBA image, every pixel `px` unless `at` gives one. */
function image(width: number, height: number, px: number[], at: Record<number, number[]> = {}): Uint8Array {
  const a = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) a.set([...(at[i] ?? px).slice(0, 3), 255], i * 4);
  return a;
}

function convert(width: number, height: number, rgba: Uint8Array): { y: Uint8Array; u: Uint8Array; v: Uint8Array } {
  const out = rgbaToI420(rgba, width, height, new Uint8Array(i420Bytes(width, height)));
  const ys = width * height;
  const cs = ys / 4;
  return { y: out.subarray(0, ys), u: out.subarray(ys, ys + cs), v: out.subarray(ys + cs) };
}

describe('rgbaToI420 (BT.601 limited range)', () => {
  // hand-computed: Y = 16 + (65.481 R + 128.553 G + 24.966 B)/255, Cb/Cr likewise, rounded
  it.each([
    ['black', [0, 0, 0], [16, 128, 128]],
    ['white', [255, 255, 255], [235, 128, 128]],
    ['red', [255, 0, 0], [81, 90, 240]], // 81.481, 90.203, 240
    ['green', [0, 255, 0], [145, 54, 34]], // 144.553, 53.797, 34.214
    ['blue', [0, 0, 255], [41, 240, 110]], // 40.966, 240, 109.786
    ['mid grey', [128, 128, 128], [126, 128, 128]], // 16 + 219*128/255 = 125.93
  ])('%s', (_name, rgb, [Y, U, V]) => {
    const { y, u, v } = convert(4, 2, image(4, 2, rgb));
    expect([...y]).toEqual(new Array(8).fill(Y));
    expect([...u]).toEqual([U, U]);
    expect([...v]).toEqual([V, V]);
    expect(bt601Reference(rgb[0], rgb[1], rgb[2])).toEqual([Y, U, V]);
  });

  it('takes chroma from the 2x2 block average and luma per pixel', () => {
    // left block: red red / black black -> average (128, 0, 0) after rounding 127.5 up
    //   Cb = 128 - 37.797*128/255 = 109.03 -> 109; Cr = 128 + 112*128/255 = 184.22 -> 184
    // right block: white, blue / green, black -> average (64, 128, 128) (63.75, 127.5, 127.5 rounded)
    //   Cb = 128 + (-37.797*64 - 74.203*128 + 112*128)/255 = 137.49 -> 137
    //   Cr = 128 + (112*64 - 93.786*128 - 18.214*128)/255 = 99.89 -> 100
    const R = [255, 0, 0], K = [0, 0, 0], Wt = [255, 255, 255], B = [0, 0, 255], G = [0, 255, 0];
    const rgba = image(4, 2, K, { 0: R, 1: R, 2: Wt, 3: B, 4: K, 5: K, 6: G, 7: K });
    const { y, u, v } = convert(4, 2, rgba);
    expect([...y]).toEqual([81, 81, 235, 41, 16, 16, 145, 16]);
    expect([...u]).toEqual([109, 137]);
    expect([...v]).toEqual([184, 100]);
  });

  it('matches the float reference on random pixels (luma exact to +-1, mostly exact)', () => {
    let x = 12345;
    const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const w = 64, h = 64;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = rnd();
    const { y } = convert(w, h, rgba);
    let off = 0;
    for (let i = 0; i < w * h; i++) {
      const [Y] = bt601Reference(rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]);
      expect(Math.abs(y[i] - Y)).toBeLessThanOrEqual(1);
      if (y[i] !== Y) off++;
    }
    expect(off).toBeLessThan(w * h * 0.01);
  });

  it('writes into a view after a header and leaves the header alone', () => {
    const buf = new Uint8Array(64 + i420Bytes(2, 2)).fill(7);
    rgbaToI420(image(2, 2, [255, 255, 255]), 2, 2, buf.subarray(64));
    expect([...buf.subarray(0, 64)].every((b) => b === 7)).toBe(true);
    expect([...buf.subarray(64)]).toEqual([235, 235, 235, 235, 128, 128]);
  });

  it('refuses odd sizes with FB_ERR_BAD_RESOLUTION', () => {
    expect(() => rgbaToI420(new Uint8Array(3 * 2 * 4), 3, 2, new Uint8Array(9))).toThrow(expect.objectContaining({ code: 'FB_ERR_BAD_RESOLUTION' }) as unknown as FbError);
  });
});
