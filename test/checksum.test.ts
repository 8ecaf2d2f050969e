import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksum, replaceWord } from '../core/checksum';
import { FLAG_CHECKSUM, HEADER_BYTES, OFF_CHECKSUM_A, OFF_CHECKSUM_B, OFF_FLAGS, hasChecksum, headerView } from '../core/frame';
import { frameSpec } from '../core/spec';
import type { CaseSpec } from '../core/case';
import { ChecksumVerifier, makeConsumerVerifier } from '../harness/checksum-verifier';
import { parseInject } from '../harness/runner';
import { jsChecksum, payloadChecksum, type PayloadChecksum } from '../measure/checksum-native';
import { SyntheticSource } from '../sources/synthetic';
import { FixtureSource, fullChecksumOf, sampledChecksumOf, writeManifest, type FixtureManifest } from '../sources/fixture-set';
import { LIVE_TAG } from '../sources/chromium-live';
import { requireOrSkip } from './support/require';

/**
 * The payload checksum (docs/checksum.md): the JS reference against a BigInt transcription of
 * the definition, the native one against the JS one (sizes, start alignments, a 1080p frame),
 * what it detects, and the producers' incremental stamping against a from-scratch sum.
 */

/** The definition, word by word, in BigInt: nothing shared with either implementation. */
function definition(bytes: Uint8Array): [number, number] {
  const M = 1n << 32n;
  let a = 0n;
  let b = 0n;
  for (let i = 0; i * 4 < bytes.length; i++) {
    let w = 0n;
    for (let k = 0; k < 4; k++) w |= BigInt(bytes[i * 4 + k] ?? 0) << BigInt(8 * k);
    a = (a + w) % M;
    b = (b + BigInt(i + 1) * w) % M;
  }
  return [Number(a), Number(b)];
}

/** Deterministic pseudo-random bytes (xorshift32). */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function sumWith(impl: PayloadChecksum, bytes: Uint8Array): [number, number] {
  const out = new Uint32Array(2);
  impl.into(bytes, out);
  return [out[0], out[1]];
}

const native = payloadChecksum();

describe('payload checksum: the JS reference', () => {
  it('matches the documented test vectors (docs/checksum.md)', () => {
    const hex = ([a, b]: [number, number]) => [a, b].map((n) => '0x' + n.toString(16).padStart(8, '0'));
    expect(hex(checksum(new Uint8Array(0)))).toEqual(['0x00000000', '0x00000000']);
    expect(hex(checksum(Uint8Array.of(1)))).toEqual(['0x00000001', '0x00000001']);
    expect(hex(checksum(Uint8Array.of(1, 2, 3, 4, 5)))).toEqual(['0x04030206', '0x0403020b']);
    expect(hex(checksum(new TextEncoder().encode('framebench')))).toEqual(['0xdbc73d2e', '0x4a2d7059']);
    expect(hex(checksum(Uint8Array.from({ length: 4096 }, (_, i) => i & 255)))).toEqual(['0x01fdf800', '0x66585000']);
  });

  it('equals the definition on sizes 0..300 and random sizes to 10k, at every start alignment 0..7', () => {
    const buf = randomBytes(10_000 + 8, 7);
    const sizes = [...Array.from({ length: 301 }, (_, i) => i), ...Array.from({ length: 30 }, (_, i) => (i * 7919 + 301) % 10_001)];
    for (const n of sizes) {
      for (let off = 0; off < 8; off++) {
        const view = buf.subarray(off, off + n);
        expect(checksum(view), `n=${n} off=${off}`).toEqual(definition(view));
      }
    }
  });

  it('equals the definition on a 3,110,400-byte frame, aligned or not (the chunked unaligned path)', () => {
    const buf = randomBytes(3_110_400 + 3, 11);
    for (const off of [0, 3]) {
      const view = buf.subarray(off, off + 3_110_400);
      expect(checksum(view)).toEqual(definition(view));
    }
  });

  it('replaceWord updates [A, B] exactly as a recomputation', () => {
    const bytes = randomBytes(4096 + 2, 5);
    const sum = Uint32Array.from(checksum(bytes));
    const dv = new DataView(bytes.buffer);
    for (const [i, v] of [[0, 0xffffffff], [17, 1], [1023, 0x80000000], [100, 0]] as const) {
      replaceWord(sum, i, dv.getUint32(i * 4, true), v);
      dv.setUint32(i * 4, v, true);
      expect([sum[0], sum[1]], `word ${i}`).toEqual(checksum(bytes));
    }
  });
});

const nativeSkip = requireOrSkip('shm', native.impl === 'native' ? null : `native checksum unavailable: ${native.fallbackReason}`);

describe.skipIf(nativeSkip)('payload checksum: native (native/src/checksum.c) agrees with the JS reference', () => {
  it('is the native one', () => {
    expect(native.impl).toBe('native');
  });

  it('on random sizes 0..10k at every start alignment 0..7', () => {
    const buf = randomBytes(10_000 + 8, 3);
    let seed = 12345;
    for (let t = 0; t < 400; t++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const n = t < 200 ? t : seed % 10_001;
      for (let off = 0; off < 8; off++) {
        const view = buf.subarray(off, off + n);
        expect(sumWith(native, view), `n=${n} off=${off}`).toEqual(checksum(view));
      }
    }
  });

  it('on inputs that end exactly where their buffer ends (no read past the last byte)', () => {
    for (const n of [1, 2, 3, 5, 127, 129, 131, 4097, 10_001]) {
      const own = randomBytes(n, n);
      expect(sumWith(native, own), `n=${n}`).toEqual(definition(own));
    }
  });

  it('on a 3,110,400-byte frame (1080p I420), aligned and at offset 1, and on all-ones bytes (wrap-around)', () => {
    const buf = randomBytes(3_110_400 + 1, 9);
    for (const off of [0, 1]) {
      const view = buf.subarray(off, off + 3_110_400);
      expect(sumWith(native, view)).toEqual(checksum(view));
    }
    const ones = new Uint8Array(3_110_400).fill(0xff);
    expect(sumWith(native, ones)).toEqual(definition(ones));
  });

  it('refuses arguments of the wrong types with FB_ERR_USAGE', () => {
    expect(() => native.into(new Uint16Array(4) as unknown as Uint8Array, new Uint32Array(2))).toThrow(expect.objectContaining({ code: 'FB_ERR_USAGE' }));
    expect(() => native.into(new Uint8Array(4), new Uint32Array(1))).toThrow(expect.objectContaining({ code: 'FB_ERR_USAGE' }));
  });
});

describe('what the checksum detects (JS and native)', () => {
  const impls = nativeSkip ? [jsChecksum] : [jsChecksum, native];

  it.each(impls.map((i) => [i.impl, i] as const))('%s: every single-byte change of a 4 KiB payload, at every position', (_name, impl) => {
    const payload = randomBytes(4096, 21);
    const [a0, b0] = sumWith(impl, payload);
    const out = new Uint32Array(2);
    let undetected = 0;
    for (let i = 0; i < payload.length; i++) {
      for (const x of [0x01, 0x80, 0xff, 0x5a]) {
        payload[i] ^= x;
        impl.into(payload, out);
        if (out[0] === a0 && out[1] === b0) undetected++;
        payload[i] ^= x;
      }
    }
    expect(undetected).toBe(0);
    expect(sumWith(impl, payload)).toEqual([a0, b0]);
  });

  it.each(impls.map((i) => [i.impl, i] as const))('%s: a swapped pair of 64-byte blocks, anywhere in a frame', (_name, impl) => {
    const payload = randomBytes(3_110_400, 33);
    const [a0, b0] = sumWith(impl, payload);
    const tmp = new Uint8Array(64);
    for (const [p, q] of [[0, 64], [0, 3_110_336], [4096, 8192], [1_000_000, 2_000_000], [64 * 7, 64 * 1000]]) {
      const swap = (): void => {
        tmp.set(payload.subarray(p, p + 64));
        payload.copyWithin(p, q, q + 64);
        payload.set(tmp, q);
      };
      swap();
      const [a, b] = sumWith(impl, payload);
      expect(a, `blocks at ${p} and ${q}: A (a sum) does not see a move`).toBe(a0);
      expect(b, `blocks at ${p} and ${q}`).not.toBe(b0);
      swap();
    }
    expect(sumWith(impl, payload)).toEqual([a0, b0]);
  });
});

describe('producers stamp the checksum without another pass', () => {
  it('synthetic: the incrementally updated [A, B] in the header equals a from-scratch checksum of the filled frame', () => {
    for (const [format, w, h] of [['i420', 640, 360], ['rgba', 64, 36], ['i420', 2, 2], ['i420', 1920, 1080]] as const) {
      const spec = frameSpec(format, w, h);
      const src = new SyntheticSource(spec, 3);
      const frame = new Uint8Array(spec.totalBytes + 1).subarray(1); // an unaligned destination, as a socket buffer may be
      for (const seq of [0, 1, 2, 1e6, 2 ** 32 + 5]) {
        src.fill(frame, seq, 1, 2);
        const hv = headerView(frame);
        expect(hasChecksum(hv)).toBe(true);
        expect(hv.getUint32(OFF_FLAGS, true)).toBe(FLAG_CHECKSUM);
        expect([hv.getUint32(OFF_CHECKSUM_A, true), hv.getUint32(OFF_CHECKSUM_B, true)], `${format} ${w}x${h} seq ${seq}`).toEqual(definitionOrFast(frame.subarray(HEADER_BYTES)));
      }
    }
  });

  it('fixture sets: each frame carries the checksum of its payload, computed at load', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fb-checksum-fx-'));
    try {
      const [w, h, count] = [32, 16, 3];
      const spec = frameSpec('i420', w, h);
      const frames = Array.from({ length: count }, (_, i) => randomBytes(spec.payloadBytes, 100 + i));
      writeFileSync(path.join(dir, 'i420.raw'), Buffer.concat(frames));
      const manifest: FixtureManifest = {
        kind: 'framebench-fixture', version: 1, name: 'checksum-test', seed: 1, width: w, height: h, count,
        formats: { i420: { file: 'i420.raw', payloadBytes: spec.payloadBytes, bytes: spec.payloadBytes * count, crc32: frames.map(fullChecksumOf), sampled: frames.map(sampledChecksumOf) } },
        checksums: { full: 'crc32', sampled: 'fnvmix-u32-per-4KiB' },
        capture: { method: 'test', chromiumVersion: 'none', page: 'none', createdAt: new Date(0).toISOString(), seconds: 0, framesPerSecond: 0 },
      };
      writeManifest(dir, manifest);
      const src = new FixtureSource(dir, 'i420', 0);
      const frame = new Uint8Array(spec.totalBytes);
      for (let seq = 0; seq < 2 * count; seq++) {
        src.fill(frame, seq, 1, 0);
        const hv = headerView(frame);
        expect(hasChecksum(hv)).toBe(true);
        expect([hv.getUint32(OFF_CHECKSUM_A, true), hv.getUint32(OFF_CHECKSUM_B, true)]).toEqual(definition(frames[seq % count]));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The BigInt definition for small inputs; the JS reference (itself checked above) for large ones. */
function definitionOrFast(bytes: Uint8Array): [number, number] {
  return bytes.length <= 100_000 ? definition(bytes) : checksum(bytes);
}

describe('the consumer check (--verify checksum)', () => {
  const spec = frameSpec('i420', 640, 360);
  const caseSpec = (source: string, verify: CaseSpec['verify'] = 'checksum'): CaseSpec => ({
    caseId: 't', transport: 'unix', scenario: 'realtime', pacing: 'fps', format: 'i420', sizes: [[640, 360]], fps: 30,
    warmupMs: 0, durationMs: 1, producers: 1, verify, source, runDir: '/nonexistent', maxFrameBytes: spec.totalBytes,
    policy: 'block', transportOptions: {},
  });

  it('passes intact frames, reports a changed byte or a missing checksum, and says which implementation ran', () => {
    const v = makeConsumerVerifier(caseSpec('synthetic'));
    const src = new SyntheticSource(spec, 0);
    const frame = new Uint8Array(spec.totalBytes);
    src.fill(frame, 4, 0, 0);
    expect(v.verify(frame, 0, 4)).toBeNull();
    frame[HEADER_BYTES + 12345] ^= 1;
    expect(v.verify(frame, 0, 4)).toMatch(/payload checksum \[0x[0-9a-f]{8}, 0x[0-9a-f]{8}\] != header/);
    frame[HEADER_BYTES + 12345] ^= 1;
    headerView(frame).setUint32(OFF_FLAGS, 0, true);
    expect(v.verify(frame, 0, 4)).toMatch(/no payload checksum/);
    expect(v.stats()).toEqual({ checksumImpl: native.impl, checksumFrames: 2 });
  });

  it('a live Chromium frame (flags 0, sampled checksum and LIVE tag) goes to the live check, uncounted', () => {
    const seen: number[] = [];
    const v = new ChecksumVerifier(jsChecksum, { verify: (_f, _p, seq) => (seen.push(seq), null) });
    const frame = new Uint8Array(spec.totalBytes);
    headerView(frame).setUint32(56, LIVE_TAG, true);
    expect(v.verify(frame, 0, 9)).toBeNull();
    expect(seen).toEqual([9]);
    expect(v.stats()).toEqual({ checksumImpl: 'js', checksumFrames: 0 });
  });

  it('--verify sample and full keep their checks and add no stats', () => {
    for (const mode of ['sample', 'full'] as const) {
      const v = makeConsumerVerifier(caseSpec('synthetic', mode));
      const frame = new Uint8Array(spec.totalBytes);
      new SyntheticSource(spec, 0).fill(frame, 1, 0, 0);
      expect(v.verify(frame, 0, 1)).toBeNull();
      expect(v.stats()).toEqual({});
    }
  });

  it('FRAMEBENCH_TEST_INJECT <t>:flipByte parses', () => {
    expect(parseInject('shm:flipByte,ws:busyUs=5')).toEqual({ shm: { flipByte: true }, ws: { busyUs: 5 } });
  });
});

