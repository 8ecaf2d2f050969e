/**
 * The malformed inputs `bench torture` writes to a receiver's data path, as bytes. Each
 * names the codes the receiver must report: FB_ERR_PROTOCOL for malformed data,
 * FB_ERR_PEER_GONE for a sender that vanished mid-frame, 'none' for input refused before
 * it reaches the transport (an HTTP handshake the WebSocket server turns down).
 */
export interface BadInput {
  name: string;
  /** Bytes to write after connecting (after the WebSocket handshake for ws). */
  bytes: Buffer;
  expected: string[];
  /** ws only: skip the handshake, write `bytes` as the HTTP request itself. */
  raw?: boolean;
  /** ws only: request this path instead of the address's capability path. */
  wrongPath?: string;
  /**
   * Random input can begin with messages that are well-formed for the protocol (a random buffer
   * starts with a valid masked WebSocket binary frame about once in 256 seeds): delivering up to
   * this many is right, anything beyond is a bad input that came out as a frame. Default 0.
   */
  wellFormed?: number;
}

export type Rng = () => number;

/** Deterministic PRNG (mulberry32) so a failing run can be replayed with --seed. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBuf(r: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

const STREAM_MAGIC = 0x46425331;

function prefix(length: number, magic = STREAM_MAGIC): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32LE(length >>> 0, 0);
  p.writeUInt32LE(magic >>> 0, 4);
  return p;
}

/** Inputs for the length-prefixed stream framing (unix, tcp, pipe). */
export function streamInputs(maxFrameBytes: number, r: Rng): BadInput[] {
  const u64 = Buffer.alloc(8);
  u64.writeBigUInt64LE(2n ** 63n);
  return [
    { name: 'wrong magic', bytes: Buffer.concat([prefix(16, 0xdeadbeef), Buffer.alloc(16)]), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'truncated header', bytes: prefix(64).subarray(0, 5), expected: ['FB_ERR_PEER_GONE'] },
    { name: 'length 2^63 (u64 prefix)', bytes: Buffer.concat([u64, Buffer.alloc(64)]), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'length 2^32-1', bytes: Buffer.concat([prefix(0xffffffff), Buffer.alloc(64)]), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'length maxFrameBytes+1', bytes: Buffer.concat([prefix(maxFrameBytes + 1), Buffer.alloc(64)]), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'frame cut short (max length announced)', bytes: Buffer.concat([prefix(maxFrameBytes), Buffer.alloc(1000)]), expected: ['FB_ERR_PEER_GONE'] },
    { name: 'random bytes', bytes: randomBuf(r, 64 * 1024), expected: ['FB_ERR_PROTOCOL'] },
  ];
}

interface WsFrameOpts {
  fin?: boolean;
  opcode?: number;
  rsv?: number;
  mask?: boolean;
  payload?: Buffer;
  /** Announce this length (64-bit form) instead of the payload's. */
  announce?: bigint;
}

/** One WebSocket frame as a client writes it (masked with a fixed non-zero key unless mask: false). */
export function wsFrame(o: WsFrameOpts): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const mask = o.mask ?? true;
  const b0 = ((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | (o.opcode ?? 2);
  const len = o.announce ?? BigInt(payload.length);
  let hdr: Buffer;
  if (o.announce === undefined && len < 126n) {
    hdr = Buffer.from([b0, (mask ? 0x80 : 0) | Number(len)]);
  } else if (o.announce === undefined && len < 65536n) {
    hdr = Buffer.from([b0, (mask ? 0x80 : 0) | 126, Number(len) >> 8, Number(len) & 0xff]);
  } else {
    hdr = Buffer.alloc(10);
    hdr[0] = b0;
    hdr[1] = (mask ? 0x80 : 0) | 127;
    hdr.writeBigUInt64BE(len, 2);
  }
  if (!mask) return Buffer.concat([hdr, payload]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([hdr, key, body]);
}

/** Inputs for the WebSocket receiver (`maxFragments`: the receiver's fragment limit). */
export function wsInputs(maxFrameBytes: number, maxFragments: number, r: Rng): BadInput[] {
  const MiB = 1024 * 1024;
  const overFragments: Buffer[] = [];
  for (let i = 0; i <= maxFragments; i++) overFragments.push(wsFrame({ fin: false, opcode: i === 0 ? 2 : 0, payload: Buffer.from([i & 0xff]) }));
  const bigFragments: Buffer[] = [];
  const pieces = Math.ceil(maxFrameBytes / MiB) + 1;
  for (let i = 0; i < pieces; i++) bigFragments.push(wsFrame({ fin: i === pieces - 1, opcode: i === 0 ? 2 : 0, payload: Buffer.alloc(MiB) }));
  return [
    { name: 'reserved opcode (bad magic)', bytes: wsFrame({ opcode: 3, payload: Buffer.alloc(8) }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'RSV1 set without extension', bytes: wsFrame({ rsv: 4, payload: Buffer.alloc(8) }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'unmasked client frame', bytes: wsFrame({ mask: false, payload: Buffer.alloc(8) }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'text message', bytes: wsFrame({ opcode: 1, payload: Buffer.from('hello') }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'length 2^63', bytes: wsFrame({ announce: 2n ** 63n }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'length 2^32-1', bytes: wsFrame({ announce: 2n ** 32n - 1n }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'frame over maxPayload', bytes: wsFrame({ announce: BigInt(maxFrameBytes + 1) }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'fragments summing over maxPayload', bytes: Buffer.concat(bigFragments), expected: ['FB_ERR_PROTOCOL'] },
    { name: `too many fragments (${maxFragments + 1})`, bytes: Buffer.concat(overFragments), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'oversized control frame', bytes: wsFrame({ opcode: 9, payload: Buffer.alloc(200) }), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'truncated header', bytes: Buffer.from([0x82]), expected: ['FB_ERR_PEER_GONE'] },
    { name: 'truncated payload', bytes: wsFrame({ payload: Buffer.alloc(1000) }).subarray(0, 20), expected: ['FB_ERR_PEER_GONE'] },
    wsRandom(randomBuf(r, 64 * 1024), maxFrameBytes),
    { name: 'random bytes as handshake', bytes: randomBuf(r, 4096), expected: ['none'], raw: true },
    { name: 'handshake without the capability path', bytes: wsFrame({ payload: Buffer.alloc(64) }), expected: ['none'], wrongPath: '/' },
  ];
}

function wsRandom(bytes: Buffer, maxFrameBytes: number): BadInput {
  return { name: 'random bytes', bytes, expected: ['FB_ERR_PROTOCOL', 'FB_ERR_PEER_GONE'], wellFormed: wsLeadingMessages(bytes, maxFrameBytes) };
}

/**
 * How many whole binary messages a WebSocket server must deliver from the start of `b` before
 * it meets something invalid: complete, masked, unfragmented binary frames (pings/pongs between
 * them are skipped, they are not messages). Stops at the first other frame; a fragmented
 * message at the very start is not counted (then the check is stricter, never looser).
 */
export function wsLeadingMessages(b: Buffer, maxFrameBytes: number): number {
  let at = 0;
  let n = 0;
  for (;;) {
    if (b.length - at < 2) return n;
    const b0 = b[at];
    const b1 = b[at + 1];
    const fin = (b0 & 0x80) !== 0;
    const rsv = (b0 >> 4) & 7;
    const op = b0 & 0x0f;
    if (rsv !== 0 || (b1 & 0x80) === 0 || !fin) return n;
    let len = b1 & 0x7f;
    let hdr = 2;
    if (len === 126) {
      if (b.length - at < 4) return n;
      len = b.readUInt16BE(at + 2);
      hdr = 4;
    } else if (len === 127) {
      if (b.length - at < 10) return n;
      const big = b.readBigUInt64BE(at + 2);
      if (big > BigInt(maxFrameBytes)) return n;
      len = Number(big);
      hdr = 10;
    }
    if (len > maxFrameBytes) return n; // over maxPayload: refused
    const end = at + hdr + 4 + len;
    if (end > b.length) return n;
    if (op === 2) n++;
    else if (!((op === 9 || op === 10) && len <= 125)) return n;
    at = end;
  }
}
