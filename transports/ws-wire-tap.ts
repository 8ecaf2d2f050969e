import type { Socket } from 'node:net';
import type { StatsOf, StatsShape } from './types';

/**
 * A WebSocket frame-header walker attached to the consumer's socket next to ws's own
 * 'data' listener. It reads headers only (2-14 bytes; a header split across chunks is
 * gathered byte by byte in JS, never with memcpy) and skips payload bytes by counting,
 * so it costs nothing per payload byte. It shows what no memcpy interposer sees: how many
 * wire frames a message took and how many bytes were masked (an XOR pass over each byte
 * on both ends).
 *
 * Attach it before any frame arrives (ws's 'connection' event: a client sends nothing
 * before the 101 response, so ws got no `head` bytes).
 */
export interface WireTapCounts {
  /** Every WebSocket frame (data and control). */
  wireFrames: number;
  dataFrames: number;
  controlFrames: number;
  /** Data messages completed (a data frame with FIN). */
  messages: number;
  payloadBytes: number;
  /** Payload bytes of frames with the mask bit set. */
  maskedBytes: number;
  /** Of those, bytes whose masking key is all zeros (no XOR needed; ws-nomask). */
  zeroMaskBytes: number;
  maxFragmentsPerMessage: number;
}

export function newWireTapCounts(): WireTapCounts {
  return { wireFrames: 0, dataFrames: 0, controlFrames: 0, messages: 0, payloadBytes: 0, maskedBytes: 0, zeroMaskBytes: 0, maxFragmentsPerMessage: 0 };
}

/** Largest WebSocket header: 2 + 8 (64-bit length) + 4 (mask key). */
const MAX_HEADER = 14;

function headerLength(b1: number): number {
  const len7 = b1 & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

export class WireTap {
  private readonly hdr = new Uint8Array(MAX_HEADER);
  private hdrHave = 0;
  /** Payload bytes of the current frame still to skip. */
  private remaining = 0;
  /** Data frames seen in the message being received. */
  private fragments = 0;

  /** `counts` may be shared by the taps of several connections. */
  constructor(readonly counts: WireTapCounts = newWireTapCounts()) {}

  /** Chunks read from the attached socket (the receiver's idle deadline watches it move). */
  chunks = 0;

  attach(socket: Socket): this {
    socket.on('data', (chunk: Buffer) => {
      this.chunks++;
      this.push(chunk);
    });
    return this;
  }

  /** True inside a frame or between the fragments of a message (a sender died mid-frame). */
  get midMessage(): boolean {
    return this.hdrHave > 0 || this.remaining > 0 || this.fragments > 0;
  }

  push(chunk: Uint8Array): void {
    const len = chunk.byteLength;
    let pos = 0;
    while (pos < len) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, len - pos);
        this.remaining -= skip;
        pos += skip;
        continue;
      }
      if (this.hdrHave === 0 && len - pos >= 2 && len - pos >= headerLength(chunk[pos + 1])) {
        pos += this.onHeader(chunk, pos);
        continue;
      }
      // header split across chunks
      const h = this.hdr;
      while (this.hdrHave < 2 && pos < len) h[this.hdrHave++] = chunk[pos++];
      if (this.hdrHave < 2) return;
      const need = headerLength(h[1]);
      while (this.hdrHave < need && pos < len) h[this.hdrHave++] = chunk[pos++];
      if (this.hdrHave < need) return;
      this.hdrHave = 0;
      this.onHeader(h, 0);
    }
  }

  /** Counts the header at `b[o]` (known to be complete); returns its length. */
  private onHeader(b: Uint8Array, o: number): number {
    const fin = (b[o] & 0x80) !== 0;
    const opcode = b[o] & 0x0f;
    const masked = (b[o + 1] & 0x80) !== 0;
    const len7 = b[o + 1] & 0x7f;
    let at = o + 2;
    let length = len7;
    if (len7 === 126) {
      length = (b[at] << 8) | b[at + 1];
      at += 2;
    } else if (len7 === 127) {
      const hi = ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
      const lo = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
      length = hi * 0x100000000 + lo;
      at += 8;
    }
    const c = this.counts;
    c.wireFrames++;
    c.payloadBytes += length;
    if (masked) {
      c.maskedBytes += length;
      if ((b[at] | b[at + 1] | b[at + 2] | b[at + 3]) === 0) c.zeroMaskBytes += length;
      at += 4;
    }
    if (opcode >= 0x8) {
      c.controlFrames++;
    } else {
      c.dataFrames++;
      this.fragments++;
      if (fin) {
        c.messages++;
        if (this.fragments > c.maxFragmentsPerMessage) c.maxFragmentsPerMessage = this.fragments;
        this.fragments = 0;
      }
    }
    this.remaining = length;
    return at - o;
  }
}

/** The tap's counters as transport stats (fragmentsPerMessage is the mean). */
/** The stats the tap adds to the ws receiver's (its declared shape). */
export const WIRE_TAP_STATS = {
  wireFrames: 'number',
  controlFrames: 'number',
  messages: 'number',
  /** A shared stat (core/case.ts): the figures report it per frame. */
  maskedBytes: 'number',
  zeroMaskBytes: 'number',
  fragmentsPerMessage: 'number',
  maxFragmentsPerMessage: 'number',
} as const satisfies StatsShape;

export function wireTapStats(c: WireTapCounts): StatsOf<typeof WIRE_TAP_STATS> {
  return {
    wireFrames: c.wireFrames,
    controlFrames: c.controlFrames,
    messages: c.messages,
    maskedBytes: c.maskedBytes,
    zeroMaskBytes: c.zeroMaskBytes,
    fragmentsPerMessage: c.messages > 0 ? c.dataFrames / c.messages : 0,
    maxFragmentsPerMessage: c.maxFragmentsPerMessage,
  };
}
