import type { FrameVerifier } from '../sources/source';
import { makeVerifier } from '../sources/select';
import type { CaseSpec } from '../core/case';
import { HEADER_BYTES, OFF_CHECKSUM_A, OFF_CHECKSUM_B, hasChecksum } from '../core/frame';
import { payloadChecksum, type ChecksumImpl, type PayloadChecksum } from '../measure/checksum-native';

/** What the consumer's check adds to its reported stats (`transportStats.consumer`). */
export interface VerifyStats {
  /** --verify checksum: which implementation computed it ('native', or 'js' without the addon). */
  checksumImpl?: ChecksumImpl;
  /** --verify checksum: frames whose every payload byte was checked against the header's checksum. */
  checksumFrames?: number;
}

export interface ConsumerVerifier extends FrameVerifier {
  stats(): VerifyStats;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * The default check (`--verify checksum`): the consumer reads every payload byte once, as a
 * real consumer (an encoder) does, and compares the payload checksum (core/checksum.ts) with
 * the one the frame source stamped in the header (bytes 52..59, flags bit 0). The same work
 * on every transport, zero-copy or not. A frame without the flag is corrupt, unless the source
 * is live Chromium, whose page stamps only its sampled checksum: those frames go to
 * `withoutChecksum` (and are not counted in checksumFrames).
 */
export class ChecksumVerifier implements ConsumerVerifier {
  private readonly out = new Uint32Array(2);
  private frames = 0;

  constructor(private readonly sum: PayloadChecksum, private readonly withoutChecksum: FrameVerifier | null) {}

  verify(frame: Uint8Array, producerId: number, seq: number): string | null {
    if (frame.byteLength < HEADER_BYTES) return `frame of ${frame.byteLength} B is shorter than the header`;
    const dv = new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES);
    if (!hasChecksum(dv)) {
      if (this.withoutChecksum) return this.withoutChecksum.verify(frame, producerId, seq);
      return 'no payload checksum in the header (flags bit 0 clear)';
    }
    const out = this.out;
    this.sum.into(frame.subarray(HEADER_BYTES), out);
    this.frames++;
    const a = dv.getUint32(OFF_CHECKSUM_A, true);
    const b = dv.getUint32(OFF_CHECKSUM_B, true);
    if (out[0] === a && out[1] === b) return null;
    return `payload checksum [${hex(out[0])}, ${hex(out[1])}] != header [${hex(a)}, ${hex(b)}] (${this.sum.impl})`;
  }

  stats(): VerifyStats {
    return { checksumImpl: this.sum.impl, checksumFrames: this.frames };
  }
}

/** The consumer's content check for `spec.verify`: checksum (default), sample or full. */
export function makeConsumerVerifier(spec: CaseSpec): ConsumerVerifier {
  if (spec.verify === 'checksum') {
    return new ChecksumVerifier(payloadChecksum(), spec.source === 'chromium' ? makeVerifier(spec) : null);
  }
  const v = makeVerifier(spec);
  return { verify: (frame, producerId, seq) => v.verify(frame, producerId, seq), stats: () => ({}) };
}
