import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESP_LIMITS, RespConnection, RespError, RespParser, encodeHeader, type RespValue } from '../transports/resp';

/**
 * The redis transport's RESP2 parser (transports/resp.ts): every reply type, any chunking of
 * the same bytes giving the same replies, bulk strings as views or assembled, the size limit,
 * and the request encoding read back by the parser.
 */

/** A reply as plain data, copied when it arrives (a bulk is only valid until the next reply). */
type Plain = string | number | null | { bulk: string } | { error: string } | Plain[];

function plain(v: RespValue): Plain {
  if (Buffer.isBuffer(v)) return { bulk: v.toString('latin1') };
  if (v instanceof RespError) return { error: v.message };
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** Parses `chunks` in order; returns the replies and the sizes the limit refused. */
function parse(chunks: Buffer[], maxBulk = 1 << 20): { replies: Plain[]; tooBig: number[]; parser: RespParser } {
  const replies: Plain[] = [];
  const tooBig: number[] = [];
  const parser = new RespParser((v) => replies.push(plain(v)), maxBulk, (n) => tooBig.push(n));
  for (const c of chunks) parser.push(c);
  return { replies, tooBig, parser };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** One of each reply type, nested arrays, and a bulk holding CR, LF and bytes above 0x7f. */
const BINARY = '\r\n\n\r$*:+-\x00\xff';
const STREAM = [
  '+OK\r\n',
  '-ERR wrong number of arguments\r\n',
  ':42\r\n',
  ':-7\r\n',
  '$5\r\nhello\r\n',
  '$0\r\n\r\n',
  '$-1\r\n',
  '*-1\r\n',
  '*0\r\n',
  `$${BINARY.length}\r\n${BINARY}\r\n`,
  '*3\r\n:1\r\n*2\r\n$3\r\nabc\r\n*0\r\n$-1\r\n',
  '*2\r\n*2\r\n+a\r\n-no\r\n*1\r\n*1\r\n:9\r\n',
].join('');
const EXPECTED: Plain[] = [
  'OK',
  { error: 'ERR wrong number of arguments' },
  42,
  -7,
  { bulk: 'hello' },
  { bulk: '' },
  null,
  null,
  [],
  { bulk: BINARY },
  [1, [{ bulk: 'abc' }, []], null],
  [['a', { error: 'no' }], [[9]]],
];

describe('RespParser', () => {
  it('reads every reply type, nested arrays and a binary bulk, in order', () => {
    const r = parse([b(STREAM)]);
    expect(r.replies).toEqual(EXPECTED);
    expect(r.tooBig).toEqual([]);
  });

  it('gives the same replies however the bytes are split: at every offset, at every pair of offsets, one byte at a time', () => {
    const all = b(STREAM);
    for (let i = 0; i <= all.length; i++) {
      expect(parse([all.subarray(0, i), all.subarray(i)]).replies, `split at ${i}`).toEqual(EXPECTED);
    }
    for (let i = 1; i < all.length; i += 3) {
      for (let j = i + 1; j < all.length; j++) {
        expect(parse([all.subarray(0, i), all.subarray(i, j), all.subarray(j)]).replies, `split at ${i}, ${j}`).toEqual(EXPECTED);
      }
    }
    expect(parse([...all].map((x) => Buffer.from([x]))).replies).toEqual(EXPECTED);
  });

  it('refuses an array of ten million elements, arrays nested too deep and an endless header line, and stops there', () => {
    const limits: Array<[string, string]> = [
      ['*10000000\r\n:1\r\n', 'array elements'],
      [`${'*1\r\n'.repeat(RESP_LIMITS.maxDepth + 1)}:1\r\n`, 'nested arrays'],
      [`+${'x'.repeat(RESP_LIMITS.maxLine + 10)}`, 'header line bytes'],
    ];
    for (const [input, what] of limits) {
      const seen: string[] = [];
      const replies: RespValue[] = [];
      const p = new RespParser((v) => replies.push(v), 100, (_n, w) => seen.push(w));
      p.push(b(input));
      p.push(b('+OK\r\n')); // ignored: the parser stopped
      expect(seen, what).toEqual([what]);
      expect(replies, what).toEqual([]);
    }
    // at the limits themselves: accepted
    const ok: RespValue[] = [];
    new RespParser((v) => ok.push(v), 100, () => {}).push(b(`${'*1\r\n'.repeat(RESP_LIMITS.maxDepth)}:1\r\n`));
    expect(ok).toHaveLength(1);
  });

  it('hands out a bulk inside one chunk as a view of it, and assembles one that spans chunks', () => {
    const chunk = b('$4\r\nwxyz\r\n');
    let got = null as RespValue;
    const p = new RespParser((v) => (got = v), 100, () => {});
    p.push(chunk);
    expect(Buffer.isBuffer(got) && got.buffer === chunk.buffer).toBe(true);
    expect(p.bytesAssembled).toBe(0);
    const first = got;

    p.push(b('$6\r\nabc'));
    expect(got).toBe(first); // nothing delivered until the bulk is whole
    p.push(b('def\r\n'));
    expect(plain(got)).toEqual({ bulk: 'abcdef' });
    expect(p.bytesAssembled).toBe(6);
  });

  it('reuses the i-th assembly buffer for the i-th spanning bulk of each reply', () => {
    const seen: Buffer[] = [];
    const p = new RespParser((v) => seen.push(...(v as Buffer[])), 100, () => {});
    const reply = (x: string, y: string) => [b(`*2\r\n$3\r\n${x.slice(0, 1)}`), b(`${x.slice(1)}\r\n$3\r\n${y.slice(0, 2)}`), b(`${y.slice(2)}\r\n`)];
    for (const c of reply('abc', 'def')) p.push(c);
    expect(seen.map((s) => s.toString())).toEqual(['abc', 'def']);
    const [first, second] = seen.splice(0);
    expect(first.buffer).not.toBe(second.buffer); // two bulks of one reply: two buffers
    for (const c of reply('ghi', 'jkl')) p.push(c);
    expect(seen.map((s) => s.toString())).toEqual(['ghi', 'jkl']);
    expect(seen[0].buffer).toBe(first.buffer);
    expect(seen[1].buffer).toBe(second.buffer);
    expect(p.bytesAssembled).toBe(12);
  });

  it('accepts a bulk of exactly the limit; one byte more is refused with its size, never buffered', () => {
    const ok = parse([b('$8\r\n12345678\r\n')], 8);
    expect(ok.replies).toEqual([{ bulk: '12345678' }]);
    expect(ok.tooBig).toEqual([]);
    const big = parse([b('$9\r\n')], 8);
    expect(big.tooBig).toEqual([9]);
    expect(big.replies).toEqual([]);
    expect(big.parser.bytesAssembled).toBe(0);
    const huge = parse([b('$1'), b('000000000000\r\n')], 8); // header line split, 1e12 B announced
    expect(huge.tooBig).toEqual([1e12]);
  });

  it('turns a line of unknown type into a RespError reply and goes on', () => {
    expect(parse([b('?what\r\n:1\r\n')]).replies).toEqual([{ error: "unparsable reply line '?what'" }, 1]);
  });
});

describe('encodeHeader', () => {
  it('writes a command as an array of bulk strings; a big last argument gets only its length line', () => {
    expect(encodeHeader(['SET', 'k']).toString()).toBe('*2\r\n$3\r\nSET\r\n$1\r\nk\r\n');
    expect(encodeHeader(['RPUSH', Buffer.from('q')], 5).toString()).toBe('*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$5\r\n');
  });

  it('reads back through the parser as the same arguments, frame included', () => {
    const frame = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
    const bytes = Buffer.concat([encodeHeader(['RPUSH', 'fb:q'], frame.byteLength), frame, b('\r\n')]);
    const { replies } = parse([bytes]);
    expect(replies).toEqual([[{ bulk: 'RPUSH' }, { bulk: 'fb:q' }, { bulk: frame.toString('latin1') }]]);
  });
});

describe('RespConnection', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-resp-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers commands in order; closing fails what is still pending', async () => {
    const sock = path.join(dir, 's');
    const peers: net.Socket[] = [];
    // a server that answers the first two commands (in one write, split mid-reply) and then goes quiet
    const server = net.createServer((s) => {
      peers.push(s);
      let seen = '';
      s.on('data', (d) => {
        const before = (seen.match(/PING/g) ?? []).length;
        seen += d.toString('latin1');
        if (before < 3 && (seen.match(/PING/g) ?? []).length >= 3) {
          s.write('+first\r\n$6\r\nsec');
          setTimeout(() => s.write('ond\r\n'), 5);
        }
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const c = await RespConnection.open(sock, 1024);
      const a = c.command(['PING', '1']);
      const bb = c.command(['PING', '2']);
      const pending = c.command(['PING', '3']);
      expect(plain(await a)).toBe('first');
      expect(plain(await bb)).toEqual({ bulk: 'second' });
      let closeErr: Error | null = null;
      c.onClose = (e) => (closeErr = e);
      c.close();
      await expect(pending).rejects.toThrow('closed');
      expect(c.closed).toBe(true);
      expect(closeErr).not.toBeNull();
      await expect(c.command(['PING'])).rejects.toThrow('closed');
    } finally {
      for (const p of peers) p.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
