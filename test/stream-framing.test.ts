import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FbError } from '../core/errors';
import { FrameParser, PREFIX_BYTES, STREAM_MAGIC, encodePrefix } from '../transports/stream/parser';
import { encodeHello, ZERO_TOKEN } from '../transports/stream/hello';
import { unixTransport } from '../transports/unix';

function wire(...payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.flatMap((p) => [encodePrefix(p.byteLength), p]));
}

/** A parser whose handler records copies of the frames; `hold` keeps frames unreleased. */
function harness(maxFrameBytes = 1 << 20, hold = false) {
  const frames: Buffer[] = [];
  const views: Buffer[] = [];
  const releases: (() => void)[] = [];
  const errors: FbError[] = [];
  let idles = 0;
  const parser = new FrameParser(maxFrameBytes, {
    frame: (view, release) => {
      frames.push(Buffer.from(view));
      views.push(view as Buffer);
      if (hold) releases.push(release);
      else release();
    },
    error: (e) => errors.push(e),
    idle: () => idles++,
  });
  return { parser, frames, views, releases, errors, idles: () => idles };
}

describe('FrameParser', () => {
  it('delivers a frame lying inside one chunk as a view of that chunk', () => {
    const h = harness();
    const a = randomBytes(1000);
    const b = randomBytes(1);
    const chunk = wire(a, b);
    h.parser.push(chunk);
    expect(h.frames).toEqual([a, b]);
    expect(h.views[0].buffer).toBe(chunk.buffer);
    expect(h.parser.counters.framesZeroCopy).toBe(2);
    expect(h.parser.counters.framesAssembled).toBe(0);
    expect(h.parser.assemblyBytes).toBe(0);
  });

  it('reassembles frames split at every offset, prefix included', () => {
    const a = randomBytes(37);
    const b = randomBytes(5);
    const all = wire(a, b);
    for (let cut = 1; cut < all.byteLength; cut++) {
      const h = harness();
      h.parser.push(all.subarray(0, cut));
      h.parser.push(all.subarray(cut));
      expect(h.frames, `cut at ${cut}`).toEqual([a, b]);
      expect(h.errors).toEqual([]);
      expect(h.parser.midFrame).toBe(false);
    }
  });

  it('reassembles from one-byte chunks', () => {
    const a = randomBytes(300);
    const h = harness();
    for (const byte of wire(a, a)) h.parser.push(Buffer.from([byte]));
    expect(h.frames).toEqual([a, a]);
  });

  it('reuses one assembly buffer and grows it only for a bigger frame', () => {
    const h = harness();
    const feed = (p: Buffer) => {
      const w = wire(p);
      h.parser.push(w.subarray(0, 100));
      h.parser.push(w.subarray(100));
    };
    feed(randomBytes(5000));
    feed(randomBytes(5000));
    feed(randomBytes(3000));
    expect(h.parser.counters.assemblyAllocs).toBe(1);
    expect(h.views[0].buffer).toBe(h.views[1].buffer);
    expect(h.views[2].buffer).toBe(h.views[0].buffer);
    feed(randomBytes(9000));
    expect(h.parser.counters.assemblyAllocs).toBe(2);
    expect(h.parser.assemblyBytes).toBe(9000);
    expect(h.frames.map((f) => f.byteLength)).toEqual([5000, 5000, 3000, 9000]);
  });

  it('holds further frames until release() and then continues', () => {
    const h = harness(1 << 20, true);
    const a = randomBytes(10);
    const b = randomBytes(20);
    const c = randomBytes(30);
    h.parser.push(wire(a, b));
    expect(h.parser.busy).toBe(true);
    h.parser.push(wire(c));
    expect(h.frames).toEqual([a]);
    h.releases[0]();
    h.releases[0](); // a second call is ignored
    expect(h.frames).toEqual([a, b]);
    h.releases[1]();
    expect(h.frames).toEqual([a, b, c]);
    const idleBefore = h.idles();
    h.releases[2]();
    expect(h.parser.busy).toBe(false);
    expect(h.idles()).toBe(idleBefore + 1);
  });

  it('refuses a bad magic with FB_ERR_PROTOCOL and stops', () => {
    const h = harness();
    const bad = Buffer.alloc(PREFIX_BYTES + 4);
    bad.writeUInt32LE(4, 0);
    bad.writeUInt32LE(STREAM_MAGIC ^ 1, 4);
    h.parser.push(bad);
    h.parser.push(wire(randomBytes(4)));
    expect(h.errors.map((e) => e.code)).toEqual(['FB_ERR_PROTOCOL']);
    expect(h.frames).toEqual([]);
  });

  it('refuses a length over maxFrameBytes before allocating anything', () => {
    const h = harness(1000);
    h.parser.push(encodePrefix(0xffffffff));
    expect(h.errors.map((e) => e.code)).toEqual(['FB_ERR_PROTOCOL']);
    expect(h.parser.assemblyBytes).toBe(0);
    const ok = harness(1000);
    ok.parser.push(wire(randomBytes(1000)));
    expect(ok.frames.length).toBe(1);
  });

  it('reports a connection ending mid-frame as FB_ERR_PEER_GONE, not after whole frames', () => {
    const clean = harness();
    clean.parser.push(wire(randomBytes(10)));
    clean.parser.end();
    expect(clean.errors).toEqual([]);

    const partial = harness();
    partial.parser.push(wire(randomBytes(10)).subarray(0, 12));
    partial.parser.end();
    expect(partial.errors.map((e) => e.code)).toEqual(['FB_ERR_PEER_GONE']);

    const inPrefix = harness();
    inPrefix.parser.push(encodePrefix(10).subarray(0, 3));
    inPrefix.parser.end();
    expect(inPrefix.errors.map((e) => e.code)).toEqual(['FB_ERR_PEER_GONE']);
  });

  it('delivers queued whole frames after the connection ended, then checks for a partial one', () => {
    const h = harness(1 << 20, true);
    const a = randomBytes(10);
    h.parser.push(wire(a, a));
    h.parser.end();
    expect(h.errors).toEqual([]);
    h.releases[0]();
    h.releases[1]();
    expect(h.frames).toEqual([a, a]);
    expect(h.errors).toEqual([]);
  });
});

describe('stream receiver over a real socket', () => {
  let runDir = '';
  beforeEach(() => {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-sf-'));
  });
  afterEach(() => fs.rmSync(runDir, { recursive: true, force: true }));

  async function rawClient(address: string): Promise<net.Socket> {
    const s = net.connect({ path: address.slice('unix:'.length) });
    await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject));
    s.write(encodeHello(ZERO_TOKEN)); // the handshake every connection starts with
    return s;
  }

  function nextError(r: { onError(h: (e: FbError) => void): void }): Promise<FbError> {
    return new Promise((resolve) => r.onError(resolve));
  }

  it('a sender dying mid-frame is FB_ERR_PEER_GONE; a bad prefix is FB_ERR_PROTOCOL and drops that connection', async () => {
    const r = await unixTransport.createReceiver({ runDir, maxFrameBytes: 1 << 20, producers: 1, policy: 'block', options: {} });
    const errors: FbError[] = [];
    const got: number[] = [];
    r.start((f, release) => {
      got.push(f.byteLength);
      release();
    });
    const firstError = nextError(r);
    r.onError((e) => errors.push(e));

    const dying = await rawClient(r.address);
    dying.write(wire(randomBytes(100)));
    dying.write(wire(randomBytes(5000)).subarray(0, 3000));
    await new Promise((resolve) => setTimeout(resolve, 20));
    dying.destroy();
    expect((await firstError).code).toBe('FB_ERR_PEER_GONE');
    expect(got).toEqual([100]);

    const liar = await rawClient(r.address);
    const closed = new Promise((resolve) => liar.once('close', resolve));
    liar.on('error', () => {});
    liar.write(encodePrefix(2 << 20));
    await closed;
    expect(errors.map((e) => e.code)).toEqual(['FB_ERR_PEER_GONE', 'FB_ERR_PROTOCOL']);
    await r.close();
    expect(fs.readdirSync(runDir)).toEqual([]);
  });
});
