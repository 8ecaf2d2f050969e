import type { FrameSpec } from '../core/spec';

/**
 * A source of frames for a producer. `fill` writes one whole frame (header + payload)
 * into `dest`, which may be a reused buffer or a loaned view into a transport's memory.
 */
export interface FrameSource {
  readonly spec: FrameSpec;
  fill(dest: Uint8Array, seq: number, sendTimeNs: number, scheduledNs: number): void;
}

/** Checks a received frame (header + payload); null when right, else a short reason. */
export interface FrameVerifier {
  verify(frame: Uint8Array, producerId: number, seq: number): string | null;
}
