import { fbError, type FbError } from '../../core/errors';
import { frameOverLimit } from '../common';
import type { FrameHandler, StatsOf, StatsShape } from '../types';

/**
 * The length-prefixed framing of the stream transports (`unix`, `tcp`, `pipe`), as bytes:
 *
 *  offset size field
 *   0     4    frame length in bytes (u32 LE; <= the receiver's maxFrameBytes)
 *   4     4    magic 0x46425331 ('FBS1', u32 LE)
 *   8     n    the frame (header + payload) exactly as the producer handed it over
 *
 * The parser is pure (no sockets, unit-tested directly): a frame lying inside one chunk is
 * delivered as a view of that chunk; otherwise it is assembled into ONE reusable buffer,
 * sized for the largest frame seen. Parsing stops while a delivered frame is unreleased.
 * The sockets around it: feed.ts (one socket into a parser), socket.ts (receiver, sender).
 */
export const PREFIX_BYTES = 8;
export const STREAM_MAGIC = 0x46425331;
/** The prefix's u32 length caps any frame at 4 GiB - 1. */
export const MAX_PREFIX_LENGTH = 0xffffffff;

/** Counters a parser adds to; one object may be shared by every connection of a receiver. */
export const PARSER_STATS = {
  framesReceived: 'number',
  bytesReceived: 'number',
  /** Frames delivered as a view of the socket chunk (no copy). */
  framesZeroCopy: 'number',
  /** Frames that spanned chunks and were copied into the assembly buffer. */
  framesAssembled: 'number',
  bytesAssembled: 'number',
  /** Times an assembly buffer was (re)allocated. */
  assemblyAllocs: 'number',
} as const satisfies StatsShape;

export type ParserCounters = StatsOf<typeof PARSER_STATS>;

export function newParserCounters(): ParserCounters {
  return { framesReceived: 0, bytesReceived: 0, framesZeroCopy: 0, framesAssembled: 0, bytesAssembled: 0, assemblyAllocs: 0 };
}

export interface ParserEvents {
  frame: FrameHandler;
  /** Malformed stream (FB_ERR_PROTOCOL) or a peer gone mid-frame (FB_ERR_PEER_GONE); parsing stops. */
  error(err: FbError): void;
  /** Every queued byte was parsed and no frame is outstanding: the socket may flow again. */
  idle(): void;
}

/** Incremental parser for one connection. Pure: no sockets, so it is unit-tested directly. */
export class FrameParser {
  private readonly prefix = new Uint8Array(PREFIX_BYTES);
  private prefixHave = 0;
  /** Body length of the frame being read; -1 while reading a prefix. */
  private need = -1;
  private have = 0;
  private assembly: Buffer | null = null;
  private readonly pending: Buffer[] = [];
  private outstanding = false;
  private looping = false;
  private failed = false;
  private ended = false;
  private endChecked = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly events: ParserEvents,
    readonly counters: ParserCounters = newParserCounters(),
  ) {}

  /** True while a delivered frame is unreleased (the owner pauses its socket). */
  get busy(): boolean {
    return this.outstanding;
  }

  /** Bytes of the assembly buffer (0 until a frame spans chunks). */
  get assemblyBytes(): number {
    return this.assembly ? this.assembly.byteLength : 0;
  }

  /** True when a frame has started but not been delivered whole. */
  get midFrame(): boolean {
    return this.need >= 0 || this.prefixHave > 0 || this.pending.length > 0;
  }

  push(chunk: Buffer): void {
    if (this.failed || this.ended) return;
    if (chunk.byteLength > 0) this.pending.push(chunk);
    this.run();
  }

  /** The connection closed: once queued bytes are delivered, a partial frame is FB_ERR_PEER_GONE. */
  end(): void {
    this.ended = true;
    this.run();
  }

  private run(): void {
    if (this.looping) return;
    this.looping = true;
    try {
      while (!this.outstanding && !this.failed && this.pending.length > 0) {
        const chunk = this.pending[0];
        const used = this.consume(chunk);
        if (used === chunk.byteLength) this.pending.shift();
        else this.pending[0] = chunk.subarray(used);
      }
    } finally {
      this.looping = false;
    }
    if (this.outstanding || this.failed || this.pending.length > 0) return;
    if (this.ended) {
      if (!this.endChecked) {
        this.endChecked = true;
        if (this.need >= 0 || this.prefixHave > 0) {
          const what = this.need >= 0 ? `${this.have} of ${this.need} bytes` : `${this.prefixHave} of ${PREFIX_BYTES} prefix bytes`;
          this.fail(fbError('FB_ERR_PEER_GONE', `sender closed the connection mid-frame (${what} received)`));
        }
      }
      return;
    }
    this.events.idle();
  }

  /** Parses from `chunk` until it is used up or a frame is outstanding; returns bytes used. */
  private consume(chunk: Buffer): number {
    const len = chunk.byteLength;
    let pos = 0;
    while (pos < len && !this.outstanding && !this.failed) {
      if (this.need < 0) {
        let length: number;
        let magic: number;
        if (this.prefixHave === 0 && len - pos >= PREFIX_BYTES) {
          length = chunk.readUInt32LE(pos);
          magic = chunk.readUInt32LE(pos + 4);
          pos += PREFIX_BYTES;
        } else {
          // prefix split across chunks: at most 8 bytes, copied in JS
          while (this.prefixHave < PREFIX_BYTES && pos < len) this.prefix[this.prefixHave++] = chunk[pos++];
          if (this.prefixHave < PREFIX_BYTES) break;
          const p = this.prefix;
          length = (p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24)) >>> 0;
          magic = (p[4] | (p[5] << 8) | (p[6] << 16) | (p[7] << 24)) >>> 0;
          this.prefixHave = 0;
        }
        if (magic !== STREAM_MAGIC) {
          this.fail(fbError('FB_ERR_PROTOCOL', `bad frame magic 0x${magic.toString(16)} (expected 0x${STREAM_MAGIC.toString(16)})`));
          break;
        }
        if (length > this.maxFrameBytes) {
          this.fail(frameOverLimit(length, this.maxFrameBytes));
          break;
        }
        this.need = length;
        this.have = 0;
        if (length === 0) this.deliver(chunk.subarray(pos, pos), false);
      } else if (this.have === 0 && len - pos >= this.need) {
        const view = chunk.subarray(pos, pos + this.need);
        pos += this.need;
        this.deliver(view, false);
      } else {
        if (this.have === 0) this.ensureAssembly(this.need);
        const asm = this.assembly as Buffer;
        const n = Math.min(this.need - this.have, len - pos);
        chunk.copy(asm, this.have, pos, pos + n);
        this.have += n;
        pos += n;
        this.counters.bytesAssembled += n;
        if (this.have === this.need) this.deliver(asm.subarray(0, this.need), true);
      }
    }
    return pos;
  }

  private ensureAssembly(bytes: number): void {
    if (this.assembly && this.assembly.byteLength >= bytes) return;
    this.assembly = Buffer.allocUnsafeSlow(bytes);
    this.counters.assemblyAllocs++;
  }

  private deliver(view: Buffer, assembled: boolean): void {
    const c = this.counters;
    c.framesReceived++;
    c.bytesReceived += view.byteLength;
    if (assembled) c.framesAssembled++;
    else c.framesZeroCopy++;
    this.need = -1;
    this.have = 0;
    this.outstanding = true;
    let released = false;
    this.events.frame(view, () => {
      if (released) return;
      released = true;
      this.outstanding = false;
      this.run();
    });
  }

  private fail(err: FbError): void {
    this.failed = true;
    this.pending.length = 0;
    this.events.error(err);
  }
}

/** Writes the 8-byte prefix for a frame of `length` bytes. */
export function encodePrefix(length: number): Buffer {
  const p = Buffer.allocUnsafe(PREFIX_BYTES);
  p.writeUInt32LE(length, 0);
  p.writeUInt32LE(STREAM_MAGIC, 4);
  return p;
}
