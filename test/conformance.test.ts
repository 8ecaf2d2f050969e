import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyHeader, headerView, readHeader } from '../core/frame';
import { frameSpec, type FrameSpec } from '../core/spec';
import { SyntheticSource, SyntheticVerifier } from '../sources/synthetic';
import type { FbError } from '../core/errors';
import type { Receiver, Transport } from '../transports/types';
import type { StatsShape, TransportStats } from '../transports/types';
import { HostChannel } from '../transports/host-ports';
import { NO_RAW_INPUT } from '../transports/registry';
import { Channel, codeOf, sendFrame, transportCases, waitFor } from './support/transport-kit';
import { requireOrSkip } from './support/require';

/**
 * ONE suite for every registered transport. A transport is skipped only when it does not
 * load or its unavailableReason() is non-null (printed); with FRAMEBENCH_REQUIRE=all (or a
 * list naming it) it fails with that reason instead. Each test has its own 0700 run
 * directory. Tests assert invariants and error codes, never speed.
 */
const cases = transportCases();
for (const c of cases) requireOrSkip(c.name, c.skip);

const REALISTIC: [string, FrameSpec, number][] = [
  ['1080p I420', frameSpec('i420', 1920, 1080), 3],
  ['1080p RGBA', frameSpec('rgba', 1920, 1080), 2],
  ['4K RGBA', frameSpec('rgba', 3840, 2160), 1],
];
const ODD_SIZES = [1, 7, 4097, 65536 + 3, 131001, 1_000_003];

/** Paths a producer can take: the copying send(), and loan()/commit() when zero-copy. */
function paths(t: Transport | null): ('send' | 'loan')[] {
  return t?.capabilities.zeroCopy ? ['send', 'loan'] : ['send'];
}

describe.each(cases)('transport $name', ({ transport, skip }) => {
  let ch: Channel;
  beforeEach(() => {
    if (transport) ch = new Channel(transport);
  });
  afterEach(async () => {
    await ch?.dispose();
  });

  describe.skipIf(skip !== null).each(paths(transport))('frames via %s', (via) => {
    const viaLoan = via === 'loan';

    it('carries odd sizes whole, in order, byte-exact; a clean close is no error', async () => {
      const r = await ch.receiver();
      const errors: FbError[] = [];
      r.onError((e) => errors.push(e));
      const sent = ODD_SIZES.map((n) => randomBytes(n));
      const bad: string[] = [];
      let got = 0;
      r.start((f, release) => {
        if (!Buffer.from(f.buffer, f.byteOffset, f.byteLength).equals(sent[got])) bad.push(`frame ${got}: ${f.byteLength} B differ`);
        got++;
        release();
      });
      const s = await ch.sender(r);
      s.onError((e) => errors.push(e));
      const scratch = new Uint8Array(Math.max(...ODD_SIZES));
      for (const b of sent) expect(await sendFrame(s, b.byteLength, (d) => d.set(b), scratch, viaLoan)).toBe(true);
      await waitFor('all frames', () => got === sent.length);
      expect(bad).toEqual([]);
      await s.close();
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(errors.map((e) => e.code)).toEqual([]);
    }, 10_000);

    it('carries 1080p I420/RGBA and 4K RGBA synthetic frames, verified byte-exact and in order', async () => {
      const r = await ch.receiver();
      const verifier = new SyntheticVerifier(true);
      const hdr = emptyHeader();
      const bad: string[] = [];
      const expected: number[] = [];
      let got = 0;
      r.start((f, release) => {
        readHeader(headerView(f), hdr);
        const want = expected[got++];
        if (hdr.seq !== want) bad.push(`seq ${hdr.seq} where ${want} was due`);
        const why = verifier.verify(f, hdr.producerId, hdr.seq);
        if (why) bad.push(`seq ${hdr.seq}: ${why}`);
        if (f.byteLength !== hdr.headerBytes + hdr.payloadBytes) bad.push(`seq ${hdr.seq}: ${f.byteLength} B`);
        release();
      });
      const s = await ch.sender(r);
      const scratch = new Uint8Array(Math.max(...REALISTIC.map(([, spec]) => spec.totalBytes)));
      let seq = 0;
      for (const [, spec, count] of REALISTIC) {
        const source = new SyntheticSource(spec, 0);
        for (let i = 0; i < count; i++, seq++) {
          expected.push(seq);
          const n = seq;
          expect(await sendFrame(s, spec.totalBytes, (d) => source.fill(d, n, 0, 0), scratch, viaLoan)).toBe(true);
        }
      }
      await waitFor('all frames', () => got === expected.length, 20_000);
      expect(bad).toEqual([]);
    }, 30_000);

    it('keeps per-sender order with 3 senders into one receiver', async () => {
      const spec = frameSpec('i420', 640, 360);
      const perSender = 12;
      const r = await ch.receiver({ producers: 3 });
      const verifier = new SyntheticVerifier(false);
      const hdr = emptyHeader();
      const next = [0, 0, 0];
      const bad: string[] = [];
      let got = 0;
      r.start((f, release) => {
        readHeader(headerView(f), hdr);
        const p = hdr.producerId;
        if (hdr.seq !== next[p]) bad.push(`producer ${p}: seq ${hdr.seq} where ${next[p]} was due`);
        next[p] = hdr.seq + 1;
        const why = verifier.verify(f, p, hdr.seq);
        if (why) bad.push(`producer ${p} seq ${hdr.seq}: ${why}`);
        got++;
        release();
      });
      const senders = await Promise.all([0, 1, 2].map((producerId) => ch.sender(r, { producerId })));
      await Promise.all(
        senders.map(async (s, producerId) => {
          const source = new SyntheticSource(spec, producerId);
          const scratch = new Uint8Array(spec.totalBytes);
          for (let seq = 0; seq < perSender; seq++) await sendFrame(s, spec.totalBytes, (d) => source.fill(d, seq, 0, 0), scratch, viaLoan);
        }),
      );
      await waitFor('all frames', () => got === 3 * perSender);
      expect(bad).toEqual([]);
      expect(next).toEqual([perSender, perSender, perSender]);
    }, 15_000);

    it('a frame held unreleased stays intact while the producer goes on; release() lets the rest through', async () => {
      const sent = [0, 1, 2, 3, 4].map((i) => randomBytes(300_000 + i));
      const r = await ch.receiver();
      const bad: string[] = [];
      let held: { view: Uint8Array; release: () => void } | null = null;
      let got = 0;
      r.start((f, release) => {
        const i = got++;
        if (i === 0) {
          held = { view: f, release };
          return;
        }
        if (!Buffer.from(f.buffer, f.byteOffset, f.byteLength).equals(sent[i])) bad.push(`frame ${i} differs`);
        release();
      });
      const s = await ch.sender(r);
      const scratch = new Uint8Array(400_000);
      const sending = (async () => {
        for (const b of sent) await sendFrame(s, b.byteLength, (d) => d.set(b), scratch, viaLoan);
      })();
      await waitFor('first frame', () => held !== null);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const h = held as unknown as { view: Uint8Array; release: () => void };
      expect(Buffer.from(h.view.buffer, h.view.byteOffset, h.view.byteLength).equals(sent[0])).toBe(true);
      h.release();
      await sending;
      await waitFor('all frames', () => got === sent.length);
      expect(bad).toEqual([]);
    }, 15_000);

    it("policy 'drop': every frame is either delivered in order or reported dropped (send false / loan null)", async () => {
      const r = await ch.receiver({ policy: 'drop' });
      const seqs: number[] = [];
      const releases: (() => void)[] = [];
      r.start((f, release) => {
        seqs.push(Buffer.from(f.buffer, f.byteOffset, 4).readUInt32LE(0));
        if (seqs.length === 1) releases.push(release);
        else release();
      });
      const s = await ch.sender(r, { policy: 'drop' });
      // Frames are offered until the sender drops one while frame 0 is held. A transport whose
      // receiver stops reading while a frame is held must drop before the cap (200 frames of 1 MB
      // is above every default buffer: the shm ring's 64 MiB, worker-sab's two frames of
      // maxFrameBytes, kernel socket buffers); one whose receiver keeps reading (shm-copy copies
      // out and frees the ring) need not, and the frames it delivered meanwhile show it.
      const cap = 200;
      const bytes = 1_000_000;
      const fill = (i: number) => (d: Uint8Array) => {
        d.fill(i & 0xff);
        Buffer.from(d.buffer, d.byteOffset, 4).writeUInt32LE(i, 0);
      };
      const accepted: boolean[] = [];
      let whileHeld: number; // frames delivered after frame 0 while it was still held
      if (viaLoan) {
        for (let i = 0; i < cap && !accepted.includes(false); i++) accepted.push(await sendFrame(s, bytes, fill(i), new Uint8Array(0), true));
        await waitFor('the first frame', () => seqs.length >= 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
        whileHeld = seqs.length - 1;
        releases[0]();
      } else {
        // Sends stay in flight, each with its own buffer (as a paced producer under 'drop'); a
        // buffer goes back to the pool once its send settled. A send the transport accepted may
        // stay pending while frame 0 is held (a stream socket's kernel buffers can take part of a
        // frame and no more until the receiver reads), so frame 0 is released before they are awaited.
        const free: Uint8Array[] = [];
        const sends: Promise<boolean>[] = [];
        let dropped = false;
        for (let i = 0; i < cap && !dropped; i++) {
          const buf = free.pop() ?? new Uint8Array(bytes);
          const p = sendFrame(s, bytes, fill(i), buf, false).then((ok) => {
            free.push(buf);
            if (!ok) dropped = true;
            return ok;
          });
          sends.push(p);
          await new Promise((resolve) => setImmediate(resolve));
        }
        await waitFor('the first frame', () => seqs.length >= 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
        whileHeld = seqs.length - 1;
        releases[0]();
        accepted.push(...(await Promise.all(sends)));
      }
      if (!accepted.includes(false)) {
        expect(whileHeld, `none of ${cap} frames was dropped, yet the receiver delivered nothing while frame 0 was held`).toBeGreaterThan(cap / 2);
      }
      const want = accepted.flatMap((ok, i) => (ok ? [i] : []));
      await waitFor(`accepted frames (${want.length})`, () => seqs.length === want.length);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seqs).toEqual(want);
    }, 15_000);
  });

  describe.skipIf(skip !== null)('lifecycle', () => {
    it('the sender learns that the receiver closed (FB_ERR_PEER_GONE)', async () => {
      const r = await ch.receiver();
      let got = 0;
      r.start((_f, release) => {
        got++;
        release();
      });
      const s = await ch.sender(r);
      const codes: string[] = [];
      s.onError((e) => codes.push(e.code));
      const frame = randomBytes(1000);
      await s.send(frame);
      await waitFor('first frame', () => got === 1);
      await r.close();
      const deadline = Date.now() + 5000;
      while (!codes.includes('FB_ERR_PEER_GONE') && Date.now() < deadline) {
        try {
          await s.send(frame);
        } catch (e) {
          codes.push(codeOf(e));
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(codes).toContain('FB_ERR_PEER_GONE');
      expect(codes.filter((c) => c !== 'FB_ERR_PEER_GONE')).toEqual([]);
    }, 10_000);

    it('refuses a frame above the sender\'s maxFrameBytes with a code', async () => {
      const max = 64 * 1024;
      const r = await ch.receiver({ maxFrameBytes: max });
      r.start((_f, release) => release());
      const s = await ch.sender(r, { maxFrameBytes: max });
      await expect(s.send(new Uint8Array(max + 1))).rejects.toSatisfy((e) => ['FB_ERR_FRAME_TOO_LARGE', 'FB_ERR_PROTOCOL'].includes(codeOf(e)));
      if (s.loan) await expect(s.loan(max + 1)).rejects.toSatisfy((e) => ['FB_ERR_FRAME_TOO_LARGE', 'FB_ERR_PROTOCOL'].includes(codeOf(e)));
      expect(await s.send(new Uint8Array(max))).toBe(true);
    }, 10_000);

    it('a receiver refuses a frame above its own maxFrameBytes with a code and never delivers it', async () => {
      const r = await ch.receiver({ maxFrameBytes: 64 * 1024 });
      const codes: string[] = [];
      let got = 0;
      r.onError((e) => codes.push(`receiver ${e.code}`));
      r.start((_f, release) => {
        got++;
        release();
      });
      const s = await ch.sender(r, { maxFrameBytes: 1024 * 1024 });
      s.onError((e) => codes.push(`sender ${e.code}`));
      await s.send(new Uint8Array(100 * 1024)).catch((e) => codes.push(`send ${codeOf(e)}`));
      const refused = () => codes.some((c) => /FB_ERR_(PROTOCOL|FRAME_TOO_LARGE)$/.test(c));
      await waitFor(`a refusal (codes so far: ${codes.join(', ')})`, refused, 5000);
      expect(got).toBe(0);
    }, 10_000);

    it('two receivers created in parallel get distinct addresses and do not cross-deliver', async () => {
      const [a, b] = await Promise.all([ch.receiver(), ch.receiver()]);
      expect(a.address).not.toBe(b.address);
      const seen = { a: [] as number[], b: [] as number[] };
      const collect = (r: Receiver, into: number[]) =>
        r.start((f, release) => {
          into.push(f[0]);
          release();
        });
      collect(a, seen.a);
      collect(b, seen.b);
      const [sa, sb] = await Promise.all([ch.sender(a), ch.sender(b, { producerId: 1 })]);
      for (let i = 0; i < 5; i++) await Promise.all([sa.send(Buffer.alloc(2000, 0xa1)), sb.send(Buffer.alloc(3000, 0xb2))]);
      await waitFor('both receivers', () => seen.a.length === 5 && seen.b.length === 5);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toEqual({ a: [0xa1, 0xa1, 0xa1, 0xa1, 0xa1], b: [0xb2, 0xb2, 0xb2, 0xb2, 0xb2] });
    }, 10_000);

    it('close() is idempotent and leaves nothing behind in the run directory', async () => {
      const r = await ch.receiver();
      r.start((_f, release) => release());
      const s = await ch.sender(r);
      await s.send(randomBytes(5000));
      const socketFile = r.address.includes(ch.runDir) ? r.address.slice(r.address.indexOf(ch.runDir)) : null;
      if (socketFile) expect(fs.existsSync(socketFile)).toBe(true);
      await Promise.all([s.close(), s.close()]);
      await s.close();
      await Promise.all([r.close(), r.close()]);
      await r.close();
      expect(fs.readdirSync(ch.runDir)).toEqual([]);
      expect(fs.statSync(ch.runDir).mode & 0o777).toBe(0o700);
    }, 10_000);

    it('a sender blocked on a receiver that stopped reading and then closed still closes, and its send settles', async () => {
      const r = await ch.receiver();
      r.start(() => {}); // holds every frame: the sender fills whatever buffers the transport has
      const s = await ch.sender(r);
      s.onError(() => {});
      const settled = (p: Promise<unknown>, ms: number) =>
        Promise.race([p.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
      let blocked: Promise<boolean> | null = null;
      for (let i = 0; i < 300 && !blocked; i++) {
        const p = s.send(new Uint8Array(1_000_000));
        p.catch(() => {});
        if (!(await settled(p, 150))) blocked = p;
      }
      expect(blocked, 'no send blocked within 300 MB: the sender buffers without bound').not.toBeNull();
      await r.close();
      await s.close(); // must not wait for the blocked send forever (the test timeout is the bound)
      expect(await settled(blocked as Promise<boolean>, 3000)).toBe(true);
      // settled by the sender itself: delivered, or refused with a code (FB_ERR_PEER_GONE)
      const outcome = await (blocked as Promise<boolean>).then((ok) => String(ok), codeOf);
      expect(['true', 'FB_ERR_PEER_GONE']).toContain(outcome);
    }, 20_000);
  });
});

/** The shape a stats() object has: its keys, each a number or a text. */
function shapeOf(stats: TransportStats): Record<string, string> {
  return Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, typeof v === 'string' ? 'text' : typeof v]));
}
const declared = (shape: StatsShape): Record<string, string> => ({ ...shape });

describe.each(cases)('transport $name: the declared contract', ({ name, transport, skip }) => {
  let ch: Channel;
  beforeEach(() => {
    if (transport) ch = new Channel(transport);
  });
  afterEach(async () => {
    await ch?.dispose();
  });

  describe.skipIf(transport === null)('declarations', () => {
    const t = transport as Transport;

    it('refuses an unknown option with FB_ERR_CONFIG naming the transport and the option, at both ends', async () => {
      const rejection = (p: Promise<unknown>) => p.then(() => null, (e: Error & { code?: string }) => ({ code: e.code, message: e.message }));
      const onReceiver = await rejection(t.createReceiver({ runDir: ch.runDir, maxFrameBytes: 1 << 20, producers: 1, policy: 'block', options: { noSuchOption: 1 } }));
      const onSender = await rejection(t.openSender('not-an-address', { producerId: 0, maxFrameBytes: 1 << 20, policy: 'block', options: { noSuchOption: 1 } }));
      for (const got of [onReceiver, onSender]) {
        expect(got?.code).toBe('FB_ERR_CONFIG');
        expect(got?.message).toContain(name);
        expect(got?.message).toContain('noSuchOption');
      }
    });

    it('declares each option with a type, a help line and a default of its type; a value of another type is refused naming it', async () => {
      for (const o of t.options) {
        expect(o.help.length, o.name).toBeGreaterThan(10);
        if (o.default !== undefined) expect(typeof o.default, o.name).toBe(o.type === 'integer' ? 'number' : o.type);
        const wrong = o.type === 'string' ? 1 : 'x';
        const got = await t.createReceiver({ runDir: ch.runDir, maxFrameBytes: 1 << 20, producers: 1, policy: 'block', options: { [o.name]: wrong } }).then(
          (r) => (void r.close(), null),
          (e: Error & { code?: string }) => e,
        );
        expect(got?.code, o.name).toBe(o.type === 'integer' || o.type === 'number' ? 'FB_ERR_BAD_NUMBER' : 'FB_ERR_CONFIG');
        expect(got?.message, o.name).toContain(o.name);
      }
    });

    it('says how the torture suite writes raw bytes to it, or is an in-process transport named in NO_RAW_INPUT', () => {
      if (NO_RAW_INPUT[name] !== undefined) {
        expect(t.capabilities.inProcess, `${name} is in NO_RAW_INPUT but not in-process`).toBe(true);
        expect(t.rawInput, `${name} is in NO_RAW_INPUT and declares rawInput`).toBeUndefined();
      } else {
        expect(t.rawInput, `${name} declares no rawInput and is not in NO_RAW_INPUT`).toBeDefined();
      }
    });
  });

  describe.skipIf(skip !== null)('at run time', () => {
    it('stats() of each end returns exactly its declared shape', async () => {
      const t = transport as Transport;
      const r = await ch.receiver();
      let got = 0;
      r.start((_f, release) => {
        got++;
        release();
      });
      const s = await ch.sender(r);
      expect(await s.send(randomBytes(4096))).toBe(true);
      await waitFor('the frame', () => got === 1);
      expect(shapeOf(r.stats())).toEqual(declared(t.stats.receiver));
      expect(shapeOf(s.stats())).toEqual(declared(t.stats.sender));
    }, 10_000);

    it.skipIf(!transport?.rawInput)('its raw input names a target for a real address', async () => {
      const t = transport as Transport;
      const r = await ch.receiver();
      const target = t.rawInput!.target(r.address);
      expect(['socket', 'fifo', 'websocket', 'segment', 'host-channel']).toContain(target.kind);
      if (target.kind === 'socket' && 'path' in target.connect) expect(fs.existsSync(target.connect.path)).toBe(true);
      if (target.kind === 'fifo') for (const f of target.files) expect(fs.statSync(f).isFIFO()).toBe(true);
    }, 10_000);

    it.skipIf(!transport?.cleanupOrphans)('cleanupOrphans() leaves a live receiver alone', async () => {
      const t = transport as Transport;
      const r = await ch.receiver();
      let got = 0;
      r.start((_f, release) => {
        got++;
        release();
      });
      expect(Array.isArray(t.cleanupOrphans!())).toBe(true);
      const s = await ch.sender(r);
      expect(await s.send(randomBytes(1000))).toBe(true);
      await waitFor('a frame after the cleanup', () => got === 1);
    }, 10_000);

    it.skipIf(transport?.capabilities.topology !== 'consumer-threads')('a hosted thread sees only what its own host channel shares (no module state)', async () => {
      const t = transport as Transport;
      const r = await ch.receiver();
      const other = new HostChannel();
      await expect(t.openSender(r.address, { producerId: 0, maxFrameBytes: t.maxFrameBytes, policy: 'block', options: {}, host: other })).rejects.toMatchObject({ code: 'FB_ERR_PEER_GONE' });
    }, 10_000);

    it.skipIf(!transport?.capabilities.zeroCopy)('an aborted loan publishes nothing; the next frame arrives, in order', async () => {
      const r = await ch.receiver();
      const got: number[] = [];
      r.start((f, release) => {
        got.push(f.byteLength > 0 ? f[0] : -1);
        release();
      });
      const s = await ch.sender(r);
      expect(typeof s.loan).toBe('function');
      const send = async (bytes: number, mark: number, abort: boolean): Promise<void> => {
        const loan = await s.loan!(bytes);
        expect(loan).not.toBeNull();
        loan!.view.fill(mark);
        if (abort) {
          loan!.abort();
          loan!.abort(); // a second call does nothing
          await loan!.commit(); // nor does a commit after it
        } else await loan!.commit();
      };
      await send(5000, 1, false);
      await send(70_000, 0xee, true);
      await send(3000, 2, false);
      await send(100, 0xee, true);
      expect(await s.send(Buffer.alloc(4000, 3))).toBe(true);
      await waitFor('three frames', () => got.length >= 3);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(got).toEqual([1, 2, 3]);
    }, 10_000);
  });
});
