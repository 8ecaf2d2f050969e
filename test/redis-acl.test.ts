import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { redisTransport } from '../transports/redis';
import { RespConnection, RespError, type RespValue } from '../transports/resp';
import type { Receiver } from '../transports/types';
import { requireOrSkip } from './support/require';
import { waitFor } from './support/transport-kit';

/**
 * The redis-server a redis receiver starts: the default user is off, each producer logs in as
 * its own ACL user limited to its own keys and the commands it uses, the consumer as another,
 * and `maxmemory` with `noeviction` bounds what a producer can make the server hold. A stream
 * entry whose reply the consumer's RESP reader refuses (too many elements) stops the consumer's
 * link with FB_ERR_PROTOCOL, nothing allocated for it.
 */
const t = redisTransport;
const skip = requireOrSkip('redis', t.unavailableReason());
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-redis-acl-'));
afterAll(() => fs.rmSync(runDir, { recursive: true, force: true }));
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function receiver(maxFrameBytes = 64 * 1024, producers = 2, start = true): Promise<{ rx: Receiver; codes: string[]; messages: string[]; got: number[] }> {
  const rx = await t.createReceiver({ runDir, maxFrameBytes, producers, policy: 'block', options: {} });
  closers.push(() => rx.close());
  const codes: string[] = [];
  const messages: string[] = [];
  const got: number[] = [];
  rx.onError((e) => (codes.push(e.code), messages.push(e.message)));
  if (start) {
    rx.start((f, release) => {
      got.push(f.byteLength);
      release();
    });
  }
  return { rx, codes, messages, got };
}

/** A raw RESP client on the receiver's server, logged in as producer 0 (`login: false`: not at all). */
async function client(rx: Receiver, login = true): Promise<{ c: RespConnection; streams: readonly string[] }> {
  const target = t.rawInput!.target(rx.address);
  if (target.kind !== 'socket' || !('path' in target.connect)) throw new Error('redis raw target is not a unix socket');
  const c = await RespConnection.open(target.connect.path, 1 << 20);
  closers.push(() => c.close());
  if (login && target.preamble) {
    // the preamble is the AUTH command a producer sends: write it as is and read its answer
    const reply = new Promise<RespValue>((resolve) => {
      (c as unknown as { waiting: Array<{ resolve(v: RespValue): void; reject(): void }> }).waiting.push({ resolve, reject: () => resolve(null) });
    });
    c.socket.write(target.preamble);
    expect(await reply).toBe('OK');
  }
  return { c, streams: target.streams ?? [] };
}

const errorOf = (v: RespValue): string => (v instanceof RespError ? v.message.split(' ')[0] : 'no error');

describe.skipIf(skip)('redis: who may do what on the server', () => {
  it('the default user is off: a connection without a login can run nothing', async () => {
    const { rx } = await receiver();
    const { c, streams } = await client(rx, false);
    expect(errorOf(await c.command(['PING']))).toBe('NOAUTH');
    expect(errorOf(await c.command(['XADD', streams[0], '*', 'f', 'x']))).toBe('NOAUTH');
    expect(errorOf(await c.command(['AUTH', 'default', '']))).toMatch(/WRONGPASS/);
  }, 20_000);

  it("a producer runs only its own commands on its own keys: not another's stream, not the consumer's, not the server's", async () => {
    const { rx, got } = await receiver();
    const { c, streams } = await client(rx);
    expect(await c.command(['PING'])).toBe('PONG');
    const key = streams[0].replace(/:s:0$/, '');
    expect(errorOf(await c.command(['XADD', streams[1], '*', 'f', 'x']))).toBe('NOPERM'); // producer 1's stream
    expect(errorOf(await c.command(['XREAD', 'COUNT', '1', 'STREAMS', streams[0], '0']))).toBe('NOPERM'); // the consumer's read
    expect(errorOf(await c.command(['XDEL', streams[0], '0-1']))).toBe('NOPERM');
    expect(errorOf(await c.command(['RPUSH', `${key}:c:0`, '1']))).toBe('NOPERM'); // granting itself credits
    expect(errorOf(await c.command(['CONFIG', 'SET', 'dir', '/tmp']))).toBe('NOPERM');
    expect(errorOf(await c.command(['FLUSHALL']))).toBe('NOPERM');
    expect(errorOf(await c.command(['SET', 'other', '1']))).toBe('NOPERM');
    expect(errorOf(await c.command(['ACL', 'WHOAMI']))).toBe('NOPERM');
    // what it is given works, and the consumer (its own user) reads it
    expect(await c.command(['XADD', streams[0], 'MAXLEN', '2', '*', 'f', Buffer.alloc(100)])).not.toBeInstanceOf(RespError);
    await waitFor('the frame', () => got.length === 1, 5000);
    // an honest producer still logs in and sends through the transport
    const tx = await t.openSender(rx.address, { producerId: 1, maxFrameBytes: 64 * 1024, policy: 'block', options: {} });
    closers.push(() => tx.close());
    expect(await tx.send(new Uint8Array(1000))).toBe(true);
    await waitFor('the honest frame', () => got.length === 2, 5000);
  }, 20_000);

  it('maxmemory with noeviction: a producer that adds without trimming is refused with OOM, the server stays bounded', async () => {
    const { rx } = await receiver(64 * 1024, 1, false); // not reading: nothing is taken out of the stream
    const { c, streams } = await client(rx);
    const entry = Buffer.alloc(60 * 1024, 7);
    let oom = '';
    // the bound: 64 MiB + (2 + 3) x (64 KiB + 64 KiB) = 64.6 MiB, about 1,100 entries of 60 KiB
    for (let i = 0; i < 4000 && !oom; i++) {
      const v = await c.command(['XADD', streams[0], '*', 'x', entry]); // no MAXLEN; not a frame
      if (v instanceof RespError) oom = v.message;
    }
    expect(oom).toMatch(/^OOM/);
  }, 60_000);

  it("a stream entry of 70,000 fields (beyond the RESP reader's 65,536 elements) stops the consumer's link with FB_ERR_PROTOCOL", async () => {
    const { rx, codes, messages } = await receiver();
    const { c, streams } = await client(rx);
    const fields: string[] = [];
    for (let i = 0; i < 35_000; i++) fields.push('a', 'b');
    const v = await c.command(['XADD', streams[0], '*', ...fields]);
    expect(v instanceof RespError).toBe(false);
    await waitFor('the refusal', () => codes.length > 0, 5000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(codes).toEqual(['FB_ERR_PROTOCOL']);
    expect(messages[0]).toMatch(/70000 array elements.*producer 0's stream/);
  }, 20_000);
});
