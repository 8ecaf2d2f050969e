import * as net from 'node:net';

/**
 * A small RESP2 client for the redis transport: commands out, replies in FIFO order.
 * Big arguments are never concatenated: a command whose last argument is a frame is written
 * as [header, frame, CRLF] under cork() (one writev). Bulk replies lying inside one socket
 * chunk are handed out as views; one spanning chunks is assembled into a reusable buffer: the
 * i-th assembled bulk of a reply always uses buffer i, valid until the next reply (callers
 * read one reply of frames at a time and release them before asking for more).
 */
export type RespValue = string | number | Buffer | null | RespError | RespValue[];

export class RespError {
  constructor(readonly message: string) {}
}

const CRLF = Buffer.from('\r\n');

/** `*N\r\n$len\r\narg\r\n...` for the small arguments, then `$<bytes>\r\n` when a big one follows. */
export function encodeHeader(args: Array<string | Buffer>, bigBytes?: number): Buffer {
  const n = args.length + (bigBytes === undefined ? 0 : 1);
  const parts: Buffer[] = [Buffer.from(`*${n}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.byteLength}\r\n`), b, CRLF);
  }
  if (bigBytes !== undefined) parts.push(Buffer.from(`$${bigBytes}\r\n`));
  return Buffer.concat(parts);
}

interface Frame {
  arr: RespValue[];
  need: number;
}

/**
 * What a reply may hold, whatever the server says: elements of one array, arrays nested in each
 * other, bytes of one header line. The redis transport's replies are far below these.
 */
export const RESP_LIMITS = { maxArray: 65_536, maxDepth: 8, maxLine: 4096 } as const;

/**
 * Incremental RESP2 parser. A bulk above maxBulk, an array above RESP_LIMITS.maxArray elements or
 * deeper than maxDepth, or a header line longer than maxLine calls onTooBig(n, what, within) and stops
 * the parser (it ignores everything after): nothing is allocated for the announced size. `within`:
 * the first element of each array being read when it stopped, where it is a string (an XREAD
 * reply: the stream's name, then the entry's id), so the caller can say whose data it was.
 */
export class RespParser {
  private broken = false;
  private line: number[] = [];
  private bulkNeed = -1;
  private bulkHave = 0;
  private crlfLeft = 0;
  private readonly assemblies: Buffer[] = [];
  private asmIndex = 0;
  private readonly stack: Frame[] = [];
  /** Bytes copied into the assembly buffer (bulk replies that spanned chunks). */
  bytesAssembled = 0;

  constructor(
    private readonly onReply: (v: RespValue) => void,
    private readonly maxBulk: number,
    private readonly onTooBig: (n: number, what: string, within: string[]) => void,
  ) {}

  private refuse(n: number, what: string): void {
    this.broken = true;
    const within: string[] = [];
    for (const f of this.stack) {
      const first = f.arr[0];
      if (Buffer.isBuffer(first)) within.push(first.toString('latin1', 0, Math.min(first.byteLength, 128)));
      else if (typeof first === 'string') within.push(first.slice(0, 128));
    }
    this.onTooBig(n, what, within);
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.byteLength;
    while (pos < len && !this.broken) {
      if (this.crlfLeft > 0) {
        const n = Math.min(this.crlfLeft, len - pos);
        this.crlfLeft -= n;
        pos += n;
        continue;
      }
      if (this.bulkNeed >= 0) {
        if (this.bulkHave === 0 && len - pos >= this.bulkNeed) {
          const v = chunk.subarray(pos, pos + this.bulkNeed);
          pos += this.bulkNeed;
          this.bulkNeed = -1;
          this.crlfLeft = 2;
          this.value(v);
          continue;
        }
        const i = this.asmIndex;
        if (this.bulkHave === 0 && (!this.assemblies[i] || this.assemblies[i].byteLength < this.bulkNeed)) this.assemblies[i] = Buffer.allocUnsafeSlow(this.bulkNeed);
        const asm = this.assemblies[i];
        const n = Math.min(this.bulkNeed - this.bulkHave, len - pos);
        chunk.copy(asm, this.bulkHave, pos, pos + n);
        this.bytesAssembled += n;
        this.bulkHave += n;
        pos += n;
        if (this.bulkHave === this.bulkNeed) {
          const v = asm.subarray(0, this.bulkNeed);
          this.asmIndex++;
          this.bulkNeed = -1;
          this.bulkHave = 0;
          this.crlfLeft = 2;
          this.value(v);
        }
        continue;
      }
      const nl = chunk.indexOf(10, pos);
      const end = nl < 0 ? len : nl;
      if (this.line.length + (end - pos) > RESP_LIMITS.maxLine) return this.refuse(this.line.length + (end - pos), 'header line bytes');
      for (let i = pos; i < end; i++) this.line.push(chunk[i]);
      pos = nl < 0 ? len : nl + 1;
      if (nl >= 0) this.header(Buffer.from(this.line).toString('latin1').replace(/\r$/, ''));
    }
  }

  private header(text: string): void {
    this.line = [];
    const type = text[0];
    const rest = text.slice(1);
    if (type === '+') this.value(rest);
    else if (type === '-') this.value(new RespError(rest));
    else if (type === ':') this.value(Number(rest));
    else if (type === '$') {
      const n = Number(rest);
      if (n < 0) this.value(null);
      else if (n > this.maxBulk) this.refuse(n, 'bulk bytes');
      else if (n === 0) {
        this.crlfLeft = 2;
        this.value(Buffer.alloc(0));
      } else this.bulkNeed = n;
    } else if (type === '*') {
      const n = Number(rest);
      if (n < 0) this.value(null);
      else if (n === 0) this.value([]);
      else if (!(n <= RESP_LIMITS.maxArray)) this.refuse(n, 'array elements');
      else if (this.stack.length >= RESP_LIMITS.maxDepth) this.refuse(this.stack.length + 1, 'nested arrays');
      else this.stack.push({ arr: [], need: n });
    } else {
      this.value(new RespError(`unparsable reply line '${text.slice(0, 40)}'`));
    }
  }

  private value(v: RespValue): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.asmIndex = 0;
        this.onReply(v);
        return;
      }
      top.arr.push(v);
      if (top.arr.length < top.need) return;
      this.stack.pop();
      v = top.arr;
    }
  }
}

/** A reply the parser refused (RESP_LIMITS, maxBulk): the connection is closed with it. */
export class RespLimitError extends Error {
  constructor(message: string, readonly within: string[]) {
    super(message);
  }
}

/** One connection: commands are answered in order; a closed connection fails what is pending. */
export class RespConnection {
  private readonly waiting: Array<{ resolve(v: RespValue): void; reject(e: Error): void }> = [];
  readonly parser: RespParser;
  private closedWith: Error | null = null;
  onClose: ((err: Error) => void) | null = null;

  private constructor(readonly socket: net.Socket, maxBulk: number) {
    this.parser = new RespParser(
      (v) => this.waiting.shift()?.resolve(v),
      maxBulk,
      (n, what, within) =>
        this.fail(new RespLimitError(what === 'bulk bytes' ? `bulk reply of ${n} bytes exceeds the limit ${maxBulk}` : `reply refused: ${n} ${what} exceeds the limit`, within)),
    );
    socket.on('data', (d: Buffer) => this.parser.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static open(path: string, maxBulk: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path });
      s.once('error', (e) => reject(e));
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new RespConnection(s, maxBulk));
      });
    });
  }

  private fail(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.socket.destroy();
    this.onClose?.(err);
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends a command; `big` (a frame) goes as the last argument, written as its own buffer. */
  command(args: Array<string | Buffer>, big?: Uint8Array, written?: (err?: Error | null) => void): Promise<RespValue> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const p = new Promise<RespValue>((resolve, reject) => this.waiting.push({ resolve, reject }));
    const s = this.socket;
    if (big === undefined) {
      s.write(encodeHeader(args), written);
    } else {
      s.cork();
      s.write(encodeHeader(args, big.byteLength));
      s.write(big);
      s.write(CRLF, written);
      s.uncork();
    }
    return p;
  }

  close(): void {
    this.fail(new Error('closed'));
  }
}
