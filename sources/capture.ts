import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { launchCallPage } from './browser';
import { i420Bytes, rgbaToI420 } from './convert';
import { MANIFEST_FILE, MANIFEST_KIND, MANIFEST_VERSION, fullChecksumOf, sampledChecksumOf, writeManifest, type FixtureFormatEntry, type FixtureManifest } from './fixture-set';
import { fbError } from '../core/errors';
import type { PixelFormat } from '../core/frame';

/**
 * Captures a fixture set from the call page (fixtures/page/call.html) in headless Chromium.
 *
 * For each frame i: fb.render(i) in the page, then CDP Page.captureScreenshot (PNG, read from
 * the compositor surface), decoded with pngjs to RGBA and converted to I420 here. The next
 * frame is rendered and shot while this one is decoded and written (Chromium and Node work on
 * the two cores at once). Files are written under temporary names and renamed at the end, and
 * the manifest is written last, so an interrupted capture never leaves a set that loads.
 *
 * A screenshot of the page equals the canvas' getImageData byte for byte (checked while
 * building this), and the page draws from (seed, i) only, so a capture is reproducible on one
 * machine and Chromium build (test/capture.test.ts captures twice and compares checksums).
 */
export const CAPTURE_METHOD = 'CDP Page.captureScreenshot png (fromSurface, optimizeForSpeed) after fb.render(i); pngjs decode';

export interface CaptureOptions {
  frames: number;
  width: number;
  height: number;
  seed: number;
  name: string;
  outDir: string;
  chromiumPath?: string;
  /** Called after each frame is written. */
  onProgress?: (done: number, total: number, framesPerSecond: number) => void;
}

export interface CaptureResult {
  dir: string;
  manifest: FixtureManifest;
  seconds: number;
  framesPerSecond: number;
}

interface Output {
  format: PixelFormat;
  file: string;
  fd: number;
  entry: FixtureFormatEntry;
}

function openOutput(dir: string, format: PixelFormat, payloadBytes: number): Output {
  const file = `${format}.raw`;
  const fd = openSync(join(dir, file + '.partial'), 'w');
  return { format, file, fd, entry: { file, payloadBytes, bytes: 0, crc32: [], sampled: [] } };
}

function append(out: Output, payload: Uint8Array): void {
  let off = 0;
  while (off < payload.byteLength) off += writeSync(out.fd, payload, off, payload.byteLength - off);
  out.entry.bytes += payload.byteLength;
  out.entry.crc32.push(fullChecksumOf(payload));
  out.entry.sampled.push(sampledChecksumOf(payload));
}

export async function captureFixtures(opts: CaptureOptions): Promise<CaptureResult> {
  const { frames, width, height, seed } = opts;
  if (!Number.isInteger(frames) || frames < 1) throw fbError('FB_ERR_BAD_NUMBER', `--frames must be a positive integer, got ${frames}`);
  if (width % 2 !== 0 || height % 2 !== 0) throw fbError('FB_ERR_BAD_RESOLUTION', `fixtures hold I420, which needs even sizes; got ${width}x${height}`);
  const dir = opts.outDir;
  try {
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, MANIFEST_FILE), { force: true });
  } catch (e) {
    throw fbError('FB_ERR_OUT_UNWRITABLE', `cannot write fixture directory ${dir}: ${(e as Error).message}`);
  }
  const rgbaBytes = width * height * 4;
  const outs = [openOutput(dir, 'rgba', rgbaBytes), openOutput(dir, 'i420', i420Bytes(width, height))];
  const i420 = new Uint8Array(i420Bytes(width, height));
  const browser = await launchCallPage({ chromiumPath: opts.chromiumPath, width, height, seed }).catch((e) => {
    for (const o of outs) closeSync(o.fd);
    throw e;
  });
  let pending: Promise<Buffer> | null = null;
  try {
    const cdp = await browser.page.createCDPSession();
    const shoot = async (i: number): Promise<Buffer> => {
      await browser.page.evaluate((f: number) => (globalThis as unknown as { fb: { render(f: number): number } }).fb.render(f), i);
      const r = await cdp.send('Page.captureScreenshot', { format: 'png', fromSurface: true, optimizeForSpeed: true, captureBeyondViewport: false });
      return Buffer.from(r.data, 'base64');
    };
    const t0 = process.hrtime.bigint();
    pending = shoot(0);
    for (let i = 0; i < frames; i++) {
      const png: Buffer = await (pending as Promise<Buffer>);
      pending = i + 1 < frames ? shoot(i + 1) : null;
      pending?.catch(() => undefined); // awaited next turn; keeps a failure from going unhandled meanwhile
      const img = PNG.sync.read(png);
      if (img.width !== width || img.height !== height || img.data.byteLength !== rgbaBytes) {
        throw fbError('FB_ERR_INTERNAL', `screenshot ${i} is ${img.width}x${img.height}, expected ${width}x${height}`);
      }
      const rgba = new Uint8Array(img.data.buffer, img.data.byteOffset, rgbaBytes);
      append(outs[0], rgba);
      append(outs[1], rgbaToI420(rgba, width, height, i420));
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      opts.onProgress?.(i + 1, frames, (i + 1) / secs);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    for (const o of outs) {
      closeSync(o.fd);
      o.fd = -1;
      renameSync(join(dir, o.file + '.partial'), join(dir, o.file));
    }
    const manifest: FixtureManifest = {
      kind: MANIFEST_KIND,
      version: MANIFEST_VERSION,
      name: opts.name,
      seed,
      width,
      height,
      count: frames,
      formats: { i420: outs[1].entry, rgba: outs[0].entry },
      checksums: { full: 'crc32', sampled: 'fnvmix-u32-per-4KiB' },
      capture: {
        method: CAPTURE_METHOD,
        chromiumVersion: browser.version,
        page: 'fixtures/page/call.html',
        createdAt: new Date().toISOString(),
        seconds,
        framesPerSecond: frames / seconds,
      },
    };
    writeManifest(dir, manifest);
    return { dir, manifest, seconds, framesPerSecond: frames / seconds };
  } finally {
    await pending?.catch(() => undefined);
    for (const o of outs) {
      if (o.fd >= 0) {
        closeSync(o.fd);
        rmSync(join(dir, o.file + '.partial'), { force: true });
      }
    }
    await browser.close();
  }
}
