import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveChromiumPath } from '../sources/browser';
import { captureFixtures, type CaptureResult } from '../sources/capture';
import { i420Bytes, rgbaToI420 } from '../sources/convert';
import { FixtureSource, FixtureVerifier, loadFixtureSet, MANIFEST_FILE } from '../sources/fixture-set';
import { captureCommand } from '../cli/capture';
import { emptyHeader, headerView, readHeader, FRAME_MAGIC, HEADER_BYTES } from '../core/frame';

// Needs Chromium (CI installs it: apt-get install -y chromium). Never skipped.
const W = 320;
const H = 240;
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

let root: string;
let first: CaptureResult;
let second: CaptureResult;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fb-capture-'));
  first = await captureFixtures({ frames: 3, width: W, height: H, seed: 42, name: 'a', outDir: join(root, 'a') });
  second = await captureFixtures({ frames: 2, width: W, height: H, seed: 42, name: 'b', outDir: join(root, 'b') });
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of fixture `a` that a test may damage. */
function copyOfA(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of [MANIFEST_FILE, 'i420.raw', 'rgba.raw']) copyFileSync(join(first.dir, f), join(dir, f));
  return dir;
}

describe('capture', () => {
  it('writes raw frames and a manifest with per-frame checksums', () => {
    const m = first.manifest;
    expect(m).toMatchObject({ kind: 'framebench-fixture', width: W, height: H, count: 3, seed: 42 });
    expect(m.capture.chromiumVersion).toMatch(/Chrome\/\d+/);
    expect(m.capture.framesPerSecond).toBeGreaterThan(0);
    expect(m.formats.i420).toMatchObject({ file: 'i420.raw', payloadBytes: i420Bytes(W, H), bytes: 3 * i420Bytes(W, H) });
    expect(m.formats.rgba).toMatchObject({ file: 'rgba.raw', payloadBytes: W * H * 4 });
    for (const e of [m.formats.i420!, m.formats.rgba!]) {
      expect(e.crc32).toHaveLength(3);
      expect(e.sampled).toHaveLength(3);
      expect(new Set(e.crc32).size).toBe(3); // the call moves: every frame differs
    }
  });

  it('i420.raw is the converter applied to rgba.raw', () => {
    const rgba = readFileSync(join(first.dir, 'rgba.raw'));
    const i420 = readFileSync(join(first.dir, 'i420.raw'));
    const n = i420Bytes(W, H);
    const mine = rgbaToI420(rgba.subarray(W * H * 4, 2 * W * H * 4), W, H, new Uint8Array(n));
    expect(Buffer.compare(Buffer.from(mine), i420.subarray(n, 2 * n))).toBe(0);
  });

  it('is reproducible: the same seed gives the same frames', () => {
    for (const f of ['i420', 'rgba'] as const) {
      expect(second.manifest.formats[f]!.crc32).toEqual(first.manifest.formats[f]!.crc32.slice(0, 2));
    }
  });

  it('the page shows real content (not a blank or uniform frame)', () => {
    const rgba = readFileSync(join(first.dir, 'rgba.raw')).subarray(0, W * H * 4);
    const colours = new Set<number>();
    for (let i = 0; i < rgba.length; i += 4) colours.add(rgba.readUInt32LE(i));
    expect(colours.size).toBeGreaterThan(200);
  });
});

describe('FixtureSource / FixtureVerifier', () => {
  it.each(['i420', 'rgba'] as const)('round trip (%s): fill, then verify sampled and full', (format) => {
    const set = loadFixtureSet(first.dir, format);
    expect(set.spec).toMatchObject({ format, width: W, height: H });
    const src = new FixtureSource(first.dir, format, 7);
    const sampled = new FixtureVerifier(first.dir, format);
    const full = new FixtureVerifier(set, format, true);
    const buf = new Uint8Array(src.spec.totalBytes);
    for (let seq = 0; seq < 7; seq++) {
      src.fill(buf, seq, 1000 + seq, 900 + seq);
      const h = readHeader(headerView(buf), emptyHeader());
      expect(h).toMatchObject({ magic: FRAME_MAGIC, producerId: 7, seq, sendTimeNs: 1000 + seq, scheduledNs: 900 + seq, width: W, height: H });
      expect(Buffer.compare(buf.subarray(HEADER_BYTES), src.payload(seq % 3))).toBe(0);
      expect(sampled.verify(buf, 7, seq)).toBeNull();
      expect(full.verify(buf, 7, seq)).toBeNull();
    }
    // wrong producer, sequence, or content
    src.fill(buf, 4, 0, 0);
    expect(sampled.verify(buf, 8, 4)).toMatch(/producer/);
    expect(sampled.verify(buf, 7, 5)).toMatch(/sequence/);
    buf[HEADER_BYTES + 4096] ^= 0xff; // a sampled word
    expect(sampled.verify(buf, 7, 4)).toMatch(/checksum/);
    buf[HEADER_BYTES + 4096] ^= 0xff;
    buf[HEADER_BYTES + 5000] ^= 0x01; // between samples: only the full check sees it
    expect(sampled.verify(buf, 7, 4)).toBeNull();
    expect(full.verify(buf, 7, 4)).toMatch(/crc32/);
    expect(sampled.verify(buf.subarray(0, buf.length - 1), 7, 4)).toMatch(/B, expected/);
  });

  it('a damaged frame file is FB_ERR_FIXTURE_CORRUPT at load, never garbage frames', () => {
    const dir = copyOfA('flipped');
    const raw = readFileSync(join(dir, 'i420.raw'));
    raw[i420Bytes(W, H) + 12345] ^= 0x10; // frame 1, not a sampled word
    writeFileSync(join(dir, 'i420.raw'), raw);
    expect(code(() => new FixtureSource(dir, 'i420', 0))).toBe('FB_ERR_FIXTURE_CORRUPT');
    expect(code(() => new FixtureSource(dir, 'rgba', 0))).toBeUndefined(); // the other format is intact
  });

  it('a truncated frame file or a bad manifest is FB_ERR_FIXTURE_CORRUPT', () => {
    const dir = copyOfA('short');
    truncateSync(join(dir, 'rgba.raw'), W * H * 4 * 3 - 1);
    expect(code(() => loadFixtureSet(dir, 'rgba'))).toBe('FB_ERR_FIXTURE_CORRUPT');
    const bad = copyOfA('badmanifest');
    writeFileSync(join(bad, MANIFEST_FILE), '{"kind":"framebench-fixture",');
    expect(code(() => new FixtureVerifier(bad, 'i420'))).toBe('FB_ERR_FIXTURE_CORRUPT');
  });

  it('a missing fixture, manifest or frame file is FB_ERR_FIXTURE_MISSING', () => {
    expect(code(() => loadFixtureSet(join(root, 'nope')))).toBe('FB_ERR_FIXTURE_MISSING');
    expect(code(() => loadFixtureSet('no-such-fixture-name'))).toBe('FB_ERR_FIXTURE_MISSING');
    const dir = copyOfA('norgba');
    rmSync(join(dir, 'rgba.raw'));
    expect(code(() => new FixtureSource(dir, 'rgba', 0))).toBe('FB_ERR_FIXTURE_MISSING');
  });
});

describe('bench capture / Chromium lookup', () => {
  it('--help prints the options and exits 0', async () => {
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    try {
      expect(await captureCommand(['--help'])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    for (const o of ['--frames', '--resolution', '--seed', '--name', '--out']) expect(out).toContain(o);
  });

  it('bad options fail with stable codes before Chromium starts', async () => {
    await expect(captureCommand(['--resolution', '33x33'])).rejects.toMatchObject({ code: 'FB_ERR_BAD_RESOLUTION' });
    await expect(captureCommand(['--frames', '0'])).rejects.toMatchObject({ code: 'FB_ERR_BAD_NUMBER' });
    await expect(captureCommand(['--bogus'])).rejects.toMatchObject({ code: 'FB_ERR_USAGE' });
  });

  it('a missing Chromium is FB_ERR_CHROMIUM_MISSING with the install command', () => {
    try {
      resolveChromiumPath('/nonexistent/chromium');
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('FB_ERR_CHROMIUM_MISSING');
      expect((e as Error).message).toContain('apt-get install -y chromium');
    }
  });
});
