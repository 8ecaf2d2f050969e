import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { FrameSource, FrameVerifier } from './source';
import { fbError } from '../core/errors';
import { FORMAT_CODE, FORMATS, FRAME_MAGIC, FRAME_VERSION, HEADER_BYTES, emptyHeader, headerView, readHeader, writeChecksum, type PixelFormat } from '../core/frame';
import { checksumInto } from '../core/checksum';
import { frameSpec, writeSpecHeader, type FrameSpec } from '../core/spec';

/**
 * A captured fixture set on disk (written by sources/capture.ts):
 *
 *   <dir>/manifest.json   what is below, per-frame checksums, how it was captured
 *   <dir>/i420.raw        count frames of width*height*3/2 bytes, concatenated, no headers
 *   <dir>/rgba.raw        count frames of width*height*4 bytes, concatenated, no headers
 *
 * Two checksums per frame and format, both over the payload only (never the header):
 *  - crc32: zlib CRC-32 of every byte (the full check);
 *  - sampled: one little-endian u32 at the start of every 4 KiB page of the payload, mixed as
 *    h = imul(h ^ word, 0x01000193); h ^= h >>> 13 from h = 0x811c9dc5, then the payload length
 *    mixed in the same way. Touches every page, reads 1/1024 of the bytes: the default check.
 * Live frames (sources/chromium-live.ts) carry the same sampled checksum in their header.
 */
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_KIND = 'framebench-fixture';
export const MANIFEST_VERSION = 1;
export const SAMPLE_STRIDE = 4096;
export const DEFAULT_FIXTURE_ROOT = join('.cache', 'fixtures');

export interface FixtureFormatEntry {
  file: string;
  payloadBytes: number;
  /** File size: count * payloadBytes. */
  bytes: number;
  crc32: number[];
  sampled: number[];
}

export interface FixtureManifest {
  kind: typeof MANIFEST_KIND;
  version: typeof MANIFEST_VERSION;
  name: string;
  seed: number;
  width: number;
  height: number;
  count: number;
  formats: Partial<Record<PixelFormat, FixtureFormatEntry>>;
  checksums: { full: 'crc32'; sampled: 'fnvmix-u32-per-4KiB' };
  capture: {
    method: string;
    chromiumVersion: string;
    page: string;
    createdAt: string;
    seconds: number;
    framesPerSecond: number;
  };
}

/** The sampled checksum of `len` payload bytes starting at `off` in `dv` (see the module comment). */
export function sampledChecksum(dv: DataView, off: number, len: number): number {
  let h = 0x811c9dc5 | 0;
  for (let p = 0; p + 4 <= len; p += SAMPLE_STRIDE) {
    h = Math.imul(h ^ dv.getUint32(off + p, true), 0x01000193);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ len, 0x01000193);
  h ^= h >>> 13;
  return h >>> 0;
}

export function sampledChecksumOf(payload: Uint8Array): number {
  return sampledChecksum(new DataView(payload.buffer, payload.byteOffset, payload.byteLength), 0, payload.byteLength);
}

export function fullChecksumOf(payload: Uint8Array): number {
  return crc32(payload) >>> 0;
}

/** `dirOrName` as a directory: an existing path, else <cwd>/.cache/fixtures/<name>. */
export function fixtureDir(dirOrName: string): string {
  if (dirOrName.includes('/') || existsSync(join(dirOrName, MANIFEST_FILE))) return resolve(dirOrName);
  return resolve(DEFAULT_FIXTURE_ROOT, dirOrName);
}

export function writeManifest(dir: string, m: FixtureManifest): void {
  writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 1) + '\n');
}

function corrupt(dir: string, what: string): never {
  throw fbError('FB_ERR_FIXTURE_CORRUPT', `fixture ${dir}: ${what}; capture it again (bench capture)`);
}

function checkManifest(dir: string, raw: unknown): FixtureManifest {
  const m = raw as FixtureManifest;
  if (typeof m !== 'object' || m === null || m.kind !== MANIFEST_KIND) corrupt(dir, `${MANIFEST_FILE} is not a framebench fixture manifest`);
  if (m.version !== MANIFEST_VERSION) corrupt(dir, `manifest version ${String(m.version)} (expected ${MANIFEST_VERSION})`);
  for (const k of ['width', 'height', 'count'] as const) {
    if (!Number.isInteger(m[k]) || m[k] < 1) corrupt(dir, `manifest ${k} is ${String(m[k])}`);
  }
  for (const [fmt, e] of Object.entries(m.formats ?? {})) {
    if (!(FORMATS as readonly string[]).includes(fmt)) corrupt(dir, `manifest lists unknown format ${fmt}`);
    const f = fmt as PixelFormat;
    const spec = frameSpec(f, m.width, m.height);
    if (!e || typeof e.file !== 'string' || e.file.includes('/') || e.payloadBytes !== spec.payloadBytes || e.bytes !== spec.payloadBytes * m.count) {
      corrupt(dir, `manifest entry for ${f} does not match ${m.width}x${m.height} x ${m.count}`);
    }
    if (!Array.isArray(e.crc32) || !Array.isArray(e.sampled) || e.crc32.length !== m.count || e.sampled.length !== m.count) {
      corrupt(dir, `manifest checksums for ${f} do not cover ${m.count} frames`);
    }
  }
  return m;
}

export interface FixtureSet {
  dir: string;
  manifest: FixtureManifest;
  format: PixelFormat;
  spec: FrameSpec;
  entry: FixtureFormatEntry;
  /** Path of the raw frame file for `format`. */
  file: string;
}

/**
 * Reads and checks a fixture's manifest and the presence and size of its frame file for
 * `format` (default i420). Does not read the frames: FixtureSource does, and checks them.
 */
export function loadFixtureSet(dirOrName: string, format: PixelFormat = 'i420'): FixtureSet {
  const dir = fixtureDir(dirOrName);
  const mpath = join(dir, MANIFEST_FILE);
  if (!existsSync(mpath)) {
    throw fbError('FB_ERR_FIXTURE_MISSING', `no fixture at ${dir} (${MANIFEST_FILE} missing); capture one with: bench capture --name <name>`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(mpath, 'utf8'));
  } catch (e) {
    corrupt(dir, `${MANIFEST_FILE} does not parse (${(e as Error).message})`);
  }
  const manifest = checkManifest(dir, raw);
  const entry = manifest.formats[format];
  if (!entry) {
    throw fbError('FB_ERR_FIXTURE_MISSING', `fixture ${dir} has no ${format} frames (has: ${Object.keys(manifest.formats).join(', ') || 'none'})`);
  }
  const file = join(dir, entry.file);
  if (!existsSync(file)) throw fbError('FB_ERR_FIXTURE_MISSING', `fixture ${dir}: frame file ${entry.file} is missing`);
  const size = statSync(file).size;
  if (size !== entry.bytes) corrupt(dir, `${entry.file} holds ${size} B, manifest says ${entry.bytes} (${manifest.count} frames)`);
  return { dir, manifest, format, spec: frameSpec(format, manifest.width, manifest.height), entry, file };
}

export type ChecksumMode = 'full' | 'sampled';

/**
 * Frames from a captured fixture. `fill` writes the framebench header, then copies frame
 * `seq % count` (one pass over the payload, like the synthetic source). Every frame is checked
 * against the manifest when loaded (full CRC by default), so a damaged file fails at
 * construction with FB_ERR_FIXTURE_CORRUPT and never reaches a transport. Its payload checksum
 * (core/checksum.ts) is computed then too, and stamped into each header `fill` writes.
 */
export class FixtureSource implements FrameSource {
  readonly spec: FrameSpec;
  readonly set: FixtureSet;
  readonly producerId: number;
  private readonly data: Buffer;
  private readonly count: number;
  /** Payload checksum of fixture frame i: [A, B] at 2i, 2i + 1. */
  private readonly sums: Uint32Array;

  constructor(dirOrSet: string | FixtureSet, format: PixelFormat, producerId: number, opts: { verifyAtLoad?: ChecksumMode } = {}) {
    this.set = typeof dirOrSet === 'string' ? loadFixtureSet(dirOrSet, format) : dirOrSet;
    if (this.set.format !== format) throw fbError('FB_ERR_INTERNAL', `fixture set loaded for ${this.set.format}, source asked for ${format}`);
    this.spec = this.set.spec;
    this.producerId = producerId;
    this.count = this.set.manifest.count;
    this.data = readFileSync(this.set.file);
    if (this.data.byteLength !== this.set.entry.bytes) corrupt(this.set.dir, `${this.set.entry.file} changed size while loading`);
    const mode = opts.verifyAtLoad ?? 'full';
    for (let i = 0; i < this.count; i++) {
      const why = checkPayload(this.set.entry, i, this.payload(i), mode === 'full');
      if (why) corrupt(this.set.dir, `${this.set.entry.file} frame ${i}: ${why}`);
    }
    this.sums = new Uint32Array(2 * this.count);
    for (let i = 0; i < this.count; i++) checksumInto(this.payload(i), this.sums.subarray(2 * i, 2 * i + 2));
  }

  /** Payload of fixture frame `i` (a view into the loaded file). */
  payload(i: number): Uint8Array {
    const n = this.spec.payloadBytes;
    return this.data.subarray(i * n, (i + 1) * n);
  }

  fill(dest: Uint8Array, seq: number, sendTimeNs: number, scheduledNs: number): void {
    const spec = this.spec;
    const i = seq % this.count;
    const dv = new DataView(dest.buffer, dest.byteOffset, HEADER_BYTES);
    writeSpecHeader(dv, spec, this.producerId, seq, sendTimeNs, scheduledNs);
    writeChecksum(dv, this.sums[2 * i], this.sums[2 * i + 1]);
    dest.set(this.payload(i), HEADER_BYTES);
  }
}

function checkPayload(entry: FixtureFormatEntry, i: number, payload: Uint8Array, full: boolean): string | null {
  if (full) {
    const c = fullChecksumOf(payload);
    return c === entry.crc32[i] ? null : `crc32 ${hex(c)} != manifest ${hex(entry.crc32[i])}`;
  }
  const s = sampledChecksumOf(payload);
  return s === entry.sampled[i] ? null : `sampled checksum ${hex(s)} != manifest ${hex(entry.sampled[i])}`;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * Checks received fixture frames: the header (magic, version, format, producer, sequence,
 * size) and the payload against frame `seq % count` of the manifest: the sampled checksum by
 * default (touches every page), CRC-32 of every byte with `full`.
 */
export class FixtureVerifier implements FrameVerifier {
  readonly set: FixtureSet;
  private readonly full: boolean;
  private readonly h = emptyHeader();

  constructor(dirOrSet: string | FixtureSet, format: PixelFormat, full = false) {
    this.set = typeof dirOrSet === 'string' ? loadFixtureSet(dirOrSet, format) : dirOrSet;
    this.full = full;
  }

  verify(frame: Uint8Array, producerId: number, seq: number): string | null {
    const spec = this.set.spec;
    if (frame.byteLength !== spec.totalBytes) return `frame is ${frame.byteLength} B, expected ${spec.totalBytes}`;
    const h = readHeader(headerView(frame), this.h);
    if (h.magic !== FRAME_MAGIC || h.version !== FRAME_VERSION || h.headerBytes !== HEADER_BYTES) return 'bad header magic/version/size';
    if (h.format !== FORMAT_CODE[spec.format] || h.width !== spec.width || h.height !== spec.height || h.payloadBytes !== spec.payloadBytes) {
      return `header says format ${h.format} ${h.width}x${h.height} ${h.payloadBytes} B, expected ${spec.format} ${spec.width}x${spec.height}`;
    }
    if (h.producerId !== producerId) return `producer ${h.producerId}, expected ${producerId}`;
    if (h.seq !== seq) return `sequence ${h.seq}, expected ${seq}`;
    return checkPayload(this.set.entry, seq % this.set.manifest.count, frame.subarray(HEADER_BYTES), this.full);
  }
}
