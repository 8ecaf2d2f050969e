import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getTransport, NO_RAW_INPUT } from '../transports/registry';
import type { RawGrammar, RawInput, RawTarget } from '../transports/types';
import { rng, streamInputs, wsInputs, type BadInput } from './bad-inputs';
import { fmtMiB, MiB, type TortureContext } from './context';
import { LeakWatch } from './leaks';
import { writeFifo, writeSocket, writeWs } from './raw-writers';
import { ReceiverProc, until } from './receiver-proc';
import type { TortureCase, TortureSkip } from './types';

/**
 * Malformed input on every data path a hostile producer can reach: a receiver made with the
 * transport API runs in a child process (receiver-proc.ts); raw bytes go where the transport
 * says they can (`rawInput`, transports/types.ts): its socket, URL or FIFO, or, for a host
 * channel, a process the receiver forks. The receiver must report the expected code, not
 * crash, keep its memory bounded (RSS growth <= 2 x maxFrameBytes + 32 MiB: one assembly
 * buffer, one message being gathered, V8 noise) and keep serving a well-formed sender afterwards.
 * The bad inputs are picked by the grammar the path speaks, never by the transport's name.
 */
export const MAX_FRAME = 4 * MiB;
const RSS_BOUND = 2 * MAX_FRAME + 32 * MiB;

/**
 * The receivers' deadlines under torture (transport options, where a transport declares them):
 * short, so a slow-loris is closed within the case, long enough for a well-formed sender on a
 * loaded machine (a deadline fires after four timer ticks without progress).
 */
export const TORTURE_DEADLINE_MS = 1000;

/** The deadline options `t` declares, at TORTURE_DEADLINE_MS. */
export function tortureOptions(t: string): Record<string, number> {
  const declared = new Set(getTransport(t).options.map((o) => o.name));
  const out: Record<string, number> = {};
  for (const name of ['handshakeTimeoutMs', 'frameIdleTimeoutMs']) if (declared.has(name)) out[name] = TORTURE_DEADLINE_MS;
  return out;
}

/**
 * A bad input whose bytes depend on the receiver it is written to (names inside the protocol:
 * a redis stream, a node-ipc address); `messages`: for a host channel, what the hosted writer
 * sends (JSON, `{$bytes: n}` for n bytes).
 */
type Input = BadInput & { bytesFor?: (target: RawTarget) => Buffer; messages?: (target: RawTarget) => unknown[] };

function zmqInputs(r: () => number): Input[] {
  const rand = Buffer.alloc(8192);
  for (let i = 0; i < rand.length; i++) rand[i] = (r() * 256) | 0;
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  // ZMTP 1.0 (no 0xff signature): a one-byte length, flags, body; 50 short messages
  const body = Buffer.from('raw-zmtp-1.0');
  const zmtp10 = Buffer.concat([Buffer.from([0x01, 0x00]), ...new Array<Buffer>(50).fill(Buffer.concat([Buffer.from([body.length + 1, 0]), body]))]);
  return [
    { name: 'raw ZMTP 1.0 messages', bytes: zmtp10, expected: ['none'] },
    { name: 'random bytes (ZMTP)', bytes: rand, expected: ['none', 'FB_ERR_PROTOCOL'] },
    { name: 'truncated ZMTP greeting', bytes: greeting.subarray(0, 11), expected: ['none', 'FB_ERR_PROTOCOL'] },
    { name: 'greeting then garbage', bytes: Buffer.concat([greeting, rand]), expected: ['none', 'FB_ERR_PROTOCOL'] },
  ];
}

/** A RESP command as a client writes it (every argument a bulk string). */
function resp(args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/**
 * `XADD <stream> * a a a a ...` with `fields` field-value pairs, built without one buffer per
 * argument (ten million of them): the consumer's XREAD reply would hold an array of
 * 2 x fields elements.
 */
function xaddFields(stream: string, fields: number): Buffer {
  const head = resp(['XADD', stream, '*']).subarray('*3\r\n'.length); // the three arguments, without their count
  const arg = '$1\r\na\r\n';
  return Buffer.concat([Buffer.from(`*${3 + 2 * fields}\r\n`, 'latin1'), head, Buffer.alloc(arg.length * 2 * fields, arg, 'latin1')]);
}

/**
 * Inputs for a receiver behind a RESP server (redis), written after the producer's login (the
 * raw target's preamble): entries a hostile producer adds to the stream the receiver reads
 * reach the receiver (FB_ERR_PROTOCOL); bytes or commands the server itself refuses (its RESP
 * parser, the producer's ACL user, maxmemory) never do ('none'). Random bytes from their own
 * seed: the suite's stream of random numbers (ctx.rng) stays what it was for every other case.
 */
function respInputs(maxFrameBytes: number): Input[] {
  const r = rng(0x7e5);
  const rand = Buffer.alloc(8192);
  for (let i = 0; i < rand.length; i++) rand[i] = (r() * 256) | 0;
  const stream = (t: RawTarget): string => (t.kind === 'socket' && t.streams?.length ? t.streams[0] : 'fb:none');
  return [
    { name: 'stream entry that is not a frame', bytes: Buffer.alloc(0), bytesFor: (t) => resp(['XADD', stream(t), '*', 'x', 'y']), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'random bytes (RESP)', bytes: rand, expected: ['none'] },
    { name: 'stream entry above maxFrameBytes', bytes: Buffer.alloc(0), bytesFor: (t) => resp(['XADD', stream(t), '*', 'f', Buffer.alloc(maxFrameBytes + 1)]), expected: ['FB_ERR_PROTOCOL'] },
    { name: 'bulk length 2^63', bytes: Buffer.from('*3\r\n$4\r\nXADD\r\n$9223372036854775807\r\n'), expected: ['none'] },
    {
      name: 'commands beyond its ACL (CONFIG SET, FLUSHALL, XREAD, RPUSH a credit)',
      bytes: Buffer.alloc(0),
      bytesFor: (t) => Buffer.concat([
        resp(['CONFIG', 'SET', 'dir', '/tmp']), resp(['FLUSHALL']), resp(['XREAD', 'STREAMS', stream(t), '0']), resp(['RPUSH', stream(t).replace(/:s:(\d+)$/, ':c:$1'), '1']),
      ]),
      expected: ['none'],
    },
    // the server refuses it (maxmemory) or holds it; if the consumer reads it, its RESP reader refuses the reply
    { name: 'RESP array of ten million elements (a stream entry of 5M fields)', bytes: Buffer.alloc(0), bytesFor: (t) => xaddFields(stream(t), 5_000_000), expected: ['none', 'FB_ERR_PROTOCOL'] },
  ];
}

/**
 * Inputs for a receiver on the consumer's channel to the producers it forks (node-ipc): what
 * a hosted producer can send it. Each hello'd writer says bye but the last, which vanishes
 * after one well-formed frame (FB_ERR_PEER_GONE). Bytes that are not a message at all stop in Node's own
 * deserializer, before the receiver (an uncaught exception in the consumer: not tried here).
 */
function hostChannelInputs(maxFrameBytes: number): Input[] {
  const addr = (t: RawTarget): string => (t.kind === 'host-channel' ? t.address : '');
  const hello = (t: RawTarget) => ({ fbipc: addr(t), hello: 0 });
  const bye = (t: RawTarget) => ({ fbipc: addr(t), bye: true });
  const none = Buffer.alloc(0);
  return [
    { name: 'a frame that is not bytes', bytes: none, messages: (t) => [hello(t), { fbipc: addr(t), p: 0, f: 'not a frame' }, bye(t)], expected: ['FB_ERR_PROTOCOL'] },
    { name: 'messages for another receiver', bytes: none, messages: () => [{ fbipc: 'node-ipc:0000000000000000', hello: 0 }, { fbipc: 'node-ipc:0000000000000000', p: 0, f: { $bytes: 64 } }], expected: ['none'] },
    { name: 'frame above maxFrameBytes', bytes: none, messages: (t) => [hello(t), { fbipc: addr(t), p: 0, f: { $bytes: maxFrameBytes + 1 } }, bye(t)], expected: ['FB_ERR_PROTOCOL'] },
    { name: 'messages that are not objects', bytes: none, messages: () => ['garbage', 42, null, [1, 2, 3]], expected: ['none'] },
    { name: 'gone mid-stream without bye', bytes: none, messages: (t) => [hello(t), { fbipc: addr(t), p: 0, f: { $bytes: 1024 } }], expected: ['FB_ERR_PEER_GONE'], wellFormed: 1 },
  ];
}

function inputsFor(raw: RawInput, ctx: TortureContext): Input[] {
  const inputs: Record<Exclude<RawGrammar, 'shm-ring'>, () => Input[]> = {
    websocket: () => wsInputs(MAX_FRAME, raw.limits?.(MAX_FRAME).maxFragments ?? 16 * 1024, ctx.rng),
    zmtp: () => zmqInputs(ctx.rng),
    fbs1: () => streamInputs(MAX_FRAME, ctx.rng),
    resp: () => respInputs(MAX_FRAME),
    'node-ipc': () => hostChannelInputs(MAX_FRAME),
  };
  return raw.grammar === 'shm-ring' ? [] : inputs[raw.grammar]();
}

/** Writes one bad input where the transport's raw input says. */
async function writeBad(target: RawTarget, rp: ReceiverProc, input: Input): Promise<void> {
  const bytes = input.bytesFor ? input.bytesFor(target) : input.bytes;
  switch (target.kind) {
    case 'websocket':
      await writeWs(target.url, bytes, Boolean(input.raw), 3000, input.wrongPath);
      return;
    case 'fifo':
      await writeFifo(target.files, 0, bytes);
      return;
    case 'socket':
      await writeSocket(target.connect, bytes, 3000, target.preamble);
      return;
    case 'host-channel': {
      const r = await rp.hosted({ job: 'messages', list: input.messages?.(target) ?? [] });
      if (!r.ok) throw new Error(r.error ?? 'the hosted writer failed');
      return;
    }
    case 'segment':
      throw new Error('a ring segment is written by the hostile ring writer (shm-hostile.ts)');
  }
}

/** A well-formed sender sends two frames; true when both arrived. */
export async function stillServes(t: string, target: RawTarget, address: string, rp: ReceiverProc): Promise<boolean> {
  const before = rp.frames;
  const sizes = [64 * 1024, MiB];
  if (target.kind === 'host-channel') {
    // the sender must be a producer the receiver's process forked
    const r = await rp.hosted({ job: 'send', transport: t, address, sizes, maxFrameBytes: MAX_FRAME });
    if (!r.ok) return false;
  } else {
    try {
      const s = await getTransport(t).openSender(address, { producerId: 1, maxFrameBytes: MAX_FRAME, policy: 'block', options: {} });
      s.onError(() => undefined);
      try {
        await s.send(new Uint8Array(sizes[0]).fill(7));
        await s.send(new Uint8Array(sizes[1]).fill(9));
      } finally {
        await s.close().catch(() => undefined);
      }
    } catch {
      return false;
    }
  }
  return until(() => rp.frames >= before + 2, 5000);
}

async function tryInput(t: string, raw: RawInput, rp: ReceiverProc, address: string, input: Input, baseRss: number): Promise<TortureCase> {
  const errs = rp.errors.length;
  const framesBefore = rp.frames;
  const t0 = Date.now();
  const target = raw.target(address);
  let writeError = '';
  await writeBad(target, rp, input).catch((e: Error) => (writeError = e.message));
  const wantsCode = !input.expected.includes('none');
  await until(() => rp.errors.length > errs || rp.crash !== null, wantsCode ? 3000 : 300);
  const codes = rp.errors.slice(errs).map((e) => e.code);
  const got = rp.crash ? 'crash' : codes[0] ?? 'none';
  const ms = Date.now() - t0;
  const delivered = rp.frames - framesBefore; // a malformed input must never come out as a frame
  const wellFormed = input.wellFormed ?? 0; // ... except messages the random bytes happen to form
  const served = rp.crash ? false : await stillServes(t, target, address, rp);
  const rss = await rp.rss();
  const grew = rss - baseRss;
  const ok = input.expected.includes(got) && served && grew <= RSS_BOUND && !rp.crash && delivered <= wellFormed;
  const msg = rp.errors.slice(errs)[0]?.message ?? '';
  return {
    group: 'malformed', name: `${t}: ${input.name}`, transport: t, expected: input.expected, got, ok,
    framesLostUnreported: 0, leaks: [],
    detail: `${got}${msg ? ` (${msg.slice(0, 80)})` : ''} in ${ms} ms; ${served ? 'still serves' : 'STOPPED SERVING'}; RSS ${fmtMiB(rss)} (${grew >= 0 ? '+' : ''}${fmtMiB(grew)})${delivered > wellFormed ? `; DELIVERED ${delivered} frame(s)` : ''}${wellFormed ? `; the input begins with ${wellFormed} well-formed message(s): ${delivered} delivered` : ''}${writeError ? `; write: ${writeError}` : ''}${rp.crash ? `; CRASH: ${rp.crash}` : ''}`,
    figures: { reportMs: ms, rssBytes: rss, rssGrowthBytes: grew },
  };
}

/**
 * Every bad input against one transport; a FIFO path gets a fresh receiver per input (a FIFO
 * is single-use). A ring segment has its own group (shm-hostile.ts).
 */
export async function malformedTransport(t: string, ctx: TortureContext): Promise<TortureCase[]> {
  const raw = getTransport(t).rawInput;
  if (!raw) return [];
  const inputs = inputsFor(raw, ctx);
  if (inputs.length === 0) return [];
  const picked = ctx.quick && raw.grammar !== 'websocket' ? inputs.filter((_, i) => i % 2 === 0) : inputs;
  const out: TortureCase[] = [];
  const watch = new LeakWatch(ctx.tmpRoot);
  let runDir = '';
  let current: { rp: ReceiverProc; address: string } | null = null;
  let perInput = false;
  let baseRss = 0;
  const open = async (): Promise<void> => {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'framebench-run-'));
    current = await ReceiverProc.open(t, runDir, MAX_FRAME, 2, tortureOptions(t));
    perInput = raw.target(current.address).kind === 'fifo';
    watch.note([current.rp.pid]);
    baseRss = await current.rp.rss();
  };
  const close = async (): Promise<void> => {
    await current?.rp.close();
    current = null;
    fs.rmSync(runDir, { recursive: true, force: true });
  };
  try {
    for (const input of picked) {
      if (!current) await open();
      const c = current as unknown as { rp: ReceiverProc; address: string };
      out.push(await tryInput(t, raw, c.rp, c.address, input, baseRss));
      if (perInput || c.rp.crash) await close();
    }
  } finally {
    await close();
  }
  const leaks = await watch.check();
  if (out.length) out[out.length - 1].leaks.push(...leaks);
  if (leaks.length && out.length) out[out.length - 1].ok = false;
  return out;
}

/** Why a transport's data path is not driven with raw bytes here: it says it cannot (registry.ts NO_RAW_INPUT). */
export function malformedSkip(t: string): TortureSkip | null {
  const reason = NO_RAW_INPUT[t] ?? (getTransport(t).rawInput ? null : 'declares no raw input (a conformance failure)');
  return reason ? { transport: t, what: 'malformed input', reason } : null;
}
