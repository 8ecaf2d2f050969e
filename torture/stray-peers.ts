import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { getTransport } from '../transports/registry';
import type { RawTarget } from '../transports/types';
import { wsFrame } from './bad-inputs';
import { fmtMiB, MiB, type TortureContext } from './context';
import { LeakWatch } from './leaks';
import { MAX_FRAME, stillServes, TORTURE_DEADLINE_MS, tortureOptions } from './malformed';
import { ReceiverProc, until } from './receiver-proc';
import type { TortureCase } from './types';

/**
 * Peers that hold a receiver's connections instead of sending bad bytes: a slow-loris handshake
 * (the hello, the WebSocket upgrade or the ZMTP greeting dripped a byte at a time), half a frame
 * then silence, and more connections than the receiver holds. The receiver (in a child process,
 * with the torture's short deadlines) must close the handshakes at handshakeTimeoutMs without an
 * error, drop the silent producer with FB_ERR_PEER_STALLED, hold no more connections than its
 * cap (producers + 2; ws: 2x that of TCP connections not upgraded yet; zeromq: ZMTP 3 peers past
 * the ZAP handler), stay within its memory
 * bound, and serve a well-formed sender afterwards. Picked by the grammar of the transport's raw
 * input and the deadline options it declares, never by its name.
 */
const PRODUCERS = 2;
const CAP = PRODUCERS + 2;
/** Longest a deadline may take to act: four ticks late, on a loaded machine. */
const ACT_MS = 3 * TORTURE_DEADLINE_MS + 1500;
const RSS_BOUND = 2 * MAX_FRAME + 32 * MiB;

interface Outcome {
  /** 'none' or the first code the receiver reported. */
  got: string;
  /** The attack's own check (sockets closed in time, connections bounded). */
  held: boolean;
  detail: string;
}

type Attack = (target: RawTarget, rp: ReceiverProc, address: string, sockets: net.Socket[]) => Promise<Outcome>;

function connect(target: RawTarget, sockets: net.Socket[]): Promise<net.Socket> {
  const opts = target.kind === 'socket' ? target.connect : target.kind === 'websocket' ? wsHostPort(target.url) : null;
  if (!opts) return Promise.reject(new Error(`no socket to connect to in a '${target.kind}' target`));
  return new Promise((resolve, reject) => {
    const s = net.connect(opts, () => resolve(s));
    sockets.push(s);
    s.on('error', () => undefined);
    s.once('error', reject);
    s.resume();
  });
}

function wsHostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** Writes `bytes` one byte every `everyMs` until written or the socket closes. */
function drip(s: net.Socket, bytes: Buffer, everyMs: number): void {
  let i = 0;
  const t = setInterval(() => {
    if (s.destroyed || i >= bytes.length) return clearInterval(t);
    s.write(bytes.subarray(i, ++i));
  }, everyMs);
  s.once('close', () => clearInterval(t));
}

/** Resolves with how many of `socks` the receiver closed within `ms`. */
async function closedWithin(socks: net.Socket[], ms: number): Promise<number> {
  await until(() => socks.every((s) => s.destroyed || s.closed), ms);
  return socks.filter((s) => s.destroyed || s.closed).length;
}

function upgradeRequest(url: string): Buffer {
  const u = new URL(url);
  return Buffer.from(
    `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    'latin1',
  );
}

/** The bytes that complete a handshake on this target (a stream hello, a WebSocket upgrade). */
function handshake(target: RawTarget): Buffer {
  if (target.kind === 'websocket') return upgradeRequest(target.url);
  if (target.kind === 'socket' && target.preamble) return Buffer.from(target.preamble);
  // ZMTP 3.0 greeting (signature, version 3.0, mechanism NULL, as-server 0, filler), then the
  // NULL mechanism's READY command with Socket-Type PUSH
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g.write('NULL', 12, 'latin1');
  const body = Buffer.concat([Buffer.from('\x05READY\x0bSocket-Type', 'latin1'), Buffer.from([0, 0, 0, 4]), Buffer.from('PUSH', 'latin1')]);
  return Buffer.concat([g, Buffer.from([0x04, body.length]), body]);
}

function codeSince(rp: ReceiverProc, errs: number): string {
  return rp.crash ? 'crash' : (rp.errors[errs]?.code ?? 'none');
}

/** CAP connections that drip their handshake far slower than the deadline allows. */
const slowLoris: Attack = async (target, rp, _address, sockets) => {
  const errs = rp.errors.length;
  const bytes = handshake(target);
  const socks: net.Socket[] = [];
  for (let i = 0; i < CAP; i++) socks.push(await connect(target, sockets));
  for (const s of socks) drip(s, bytes, Math.ceil((2 * TORTURE_DEADLINE_MS) / 3));
  const t0 = Date.now();
  const closed = await closedWithin(socks, ACT_MS);
  const ms = Date.now() - t0;
  return { got: codeSince(rp, errs), held: closed === CAP, detail: `${closed}/${CAP} handshakes closed in ${ms} ms` };
};

/** A handshake, then the start of a frame (or message) as big as allowed, then silence. */
const halfFrame: Attack = async (target, rp, _address, sockets) => {
  const errs = rp.errors.length;
  const s = await connect(target, sockets);
  let frame: Buffer;
  if (target.kind === 'websocket') {
    s.write(upgradeRequest(target.url));
    let answer = '';
    s.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    if (!(await until(() => answer.includes('\r\n\r\n'), 3000)) || !answer.startsWith('HTTP/1.1 101')) {
      return { got: codeSince(rp, errs), held: false, detail: `upgrade refused: ${answer.split('\r\n')[0] || 'no answer'}` };
    }
    frame = wsFrame({ payload: Buffer.alloc(MiB) }).subarray(0, 64 * 1024);
  } else {
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32LE(MAX_FRAME, 0);
    prefix.writeUInt32LE(0x46425331, 4);
    frame = Buffer.concat([handshake(target), prefix, Buffer.alloc(64 * 1024)]);
  }
  s.write(frame);
  const t0 = Date.now();
  await until(() => rp.errors.length > errs || rp.crash !== null, ACT_MS);
  const closed = await closedWithin([s], 1000);
  return { got: codeSince(rp, errs), held: closed === 1, detail: `reported in ${Date.now() - t0} ms; connection ${closed ? 'closed' : 'STILL OPEN'}` };
};

/**
 * Four times the cap of connections at once, each completing its handshake; held open a while.
 * Held: still open (stream, ws), or for ZMTP, answered READY (admitted by the ZAP handler; a
 * denied peer gets ERROR and is closed at the handshake deadline).
 */
const tooMany: Attack = async (target, rp, _address, sockets) => {
  const errs = rp.errors.length;
  const bytes = handshake(target);
  const zmtp = target.kind === 'socket' && !target.preamble;
  const socks: Array<{ s: net.Socket; got: string }> = [];
  for (let i = 0; i < 4 * CAP; i++) {
    const s = await connect(target, sockets).catch(() => null);
    if (!s) continue;
    const entry = { s, got: '' };
    s.on('data', (d: Buffer) => (entry.got += d.toString('latin1')));
    s.write(bytes);
    socks.push(entry);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const held = socks.filter((e) => !e.s.destroyed && !e.s.closed && (!zmtp || e.got.includes('\x05READY'))).length;
  // ws holds up to 2x the cap of TCP connections (handshakes under way), and upgrades at most the cap
  const bound = target.kind === 'websocket' ? 2 * CAP : CAP;
  for (const e of socks) e.s.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { got: codeSince(rp, errs), held: held <= bound, detail: `${held} of ${socks.length} connections ${zmtp ? 'admitted' : 'held'} (bound ${bound})` };
};

/** The attacks that apply to a transport, by its raw input and its declared deadline options. */
export function strayPeerAttacks(t: string): Array<{ name: string; expected: string[]; run: Attack }> {
  const tr = getTransport(t);
  const raw = tr.rawInput;
  const opts = new Set(tr.options.map((o) => o.name));
  if (!raw || !opts.has('handshakeTimeoutMs')) return [];
  const out: Array<{ name: string; expected: string[]; run: Attack }> = [];
  if (raw.grammar === 'fbs1' || raw.grammar === 'websocket' || raw.grammar === 'zmtp') {
    out.push({ name: 'slow-loris handshake', expected: ['none'], run: slowLoris });
  }
  if (opts.has('frameIdleTimeoutMs') && (raw.grammar === 'fbs1' || raw.grammar === 'websocket')) {
    out.push({ name: 'half a frame then silence', expected: ['FB_ERR_PEER_STALLED'], run: halfFrame });
  }
  if (raw.grammar === 'fbs1' || raw.grammar === 'websocket' || raw.grammar === 'zmtp') out.push({ name: 'too many connections', expected: ['none'], run: tooMany });
  return out;
}

/** Every stray-peer attack that applies to `t`, against one receiver process; quick: the first only. */
export async function strayPeerCases(t: string, ctx: TortureContext): Promise<TortureCase[]> {
  const attacks = strayPeerAttacks(t);
  if (attacks.length === 0) return [];
  const picked = ctx.quick ? attacks.slice(0, 1) : attacks;
  const watch = new LeakWatch(ctx.tmpRoot);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'framebench-run-'));
  const out: TortureCase[] = [];
  const { rp, address } = await ReceiverProc.open(t, runDir, MAX_FRAME, PRODUCERS, tortureOptions(t));
  watch.note([rp.pid]);
  const raw = getTransport(t).rawInput!;
  try {
    const baseRss = await rp.rss();
    for (const a of picked) {
      const sockets: net.Socket[] = [];
      const t0 = Date.now();
      let o: Outcome;
      try {
        o = await a.run(raw.target(address), rp, address, sockets);
      } catch (e) {
        o = { got: codeSince(rp, rp.errors.length), held: false, detail: `the attack failed: ${(e as Error).message}` };
      } finally {
        for (const s of sockets) s.destroy();
      }
      const served = rp.crash ? false : await stillServes(t, raw.target(address), address, rp);
      const rss = await rp.rss();
      const grew = rss - baseRss;
      const ok = a.expected.includes(o.got) && o.held && served && grew <= RSS_BOUND && !rp.crash;
      out.push({
        group: 'malformed', name: `${t}: ${a.name}`, transport: t, expected: a.expected, got: o.got, ok,
        framesLostUnreported: 0, leaks: [],
        detail: `${o.got}; ${o.detail}; ${served ? 'still serves' : 'STOPPED SERVING'}; RSS ${fmtMiB(rss)} (${grew >= 0 ? '+' : ''}${fmtMiB(grew)})${rp.crash ? `; CRASH: ${rp.crash}` : ''}`,
        figures: { ms: Date.now() - t0, rssBytes: rss, rssGrowthBytes: grew },
      });
      if (rp.crash) break;
    }
  } finally {
    await rp.close();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  const leaks = await watch.check();
  if (out.length) out[out.length - 1].leaks.push(...leaks);
  if (leaks.length && out.length) out[out.length - 1].ok = false;
  return out;
}
