import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getTransport } from '../transports/registry';
import { streamInputs, wsInputs, type BadInput } from './bad-inputs';
import { fmtMiB, MiB, type TortureContext } from './context';
import { LeakWatch } from './leaks';
import { writeFifo, writeStream, writeWs } from './raw-writers';
import { ReceiverProc, until } from './receiver-proc';
import type { TortureCase, TortureSkip } from './types';

/**
 * Malformed input on every data path a hostile producer can reach: a receiver made with the
 * transport API runs in a child process (receiver-proc.ts); raw bytes go to its socket, URL
 * or FIFO; the receiver must report the expected code, not crash, keep its memory bounded
 * (RSS growth <= 2 x maxFrameBytes + 32 MiB: one assembly buffer, one message being
 * gathered, V8 noise) and keep serving a well-formed sender afterwards.
 */
const MAX_FRAME = 4 * MiB;
const RSS_BOUND = 2 * MAX_FRAME + 32 * MiB;

type Family = 'ws' | 'stream' | 'pipe' | 'zmq';

function familyOf(t: string): Family | null {
  if (t === 'ws' || t === 'ws-nomask') return 'ws';
  if (t === 'unix' || t === 'tcp') return 'stream';
  if (t === 'pipe') return 'pipe';
  if (t === 'zeromq') return 'zmq';
  return null;
}

/** Why a transport's data path is not driven with raw bytes here (shm has its own group). */
export const NOT_DRIVEN: Record<string, string> = {
  redis: 'frames pass through redis-server, which parses producer input (RESP) before the receiver sees it',
  'node-ipc': "the data path is the consumer's own fork() IPC channel to a child it started: nothing outside can write to it",
  'worker-sab': 'an in-process SharedArrayBuffer ring between threads of one process: not reachable from another process',
};

function zmqInputs(r: () => number): BadInput[] {
  const rand = Buffer.alloc(8192);
  for (let i = 0; i < rand.length; i++) rand[i] = (r() * 256) | 0;
  const greeting = Buffer.alloc(64);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  return [
    { name: 'random bytes (ZMTP)', bytes: rand, expected: ['none', 'FB_ERR_PROTOCOL'] },
    { name: 'truncated ZMTP greeting', bytes: greeting.subarray(0, 11), expected: ['none', 'FB_ERR_PROTOCOL'] },
    { name: 'greeting then garbage', bytes: Buffer.concat([greeting, rand]), expected: ['none', 'FB_ERR_PROTOCOL'] },
  ];
}

function wsFragmentLimit(): number {
  const ws = require('../transports/ws') as { wsMaxFragments?: (maxFrameBytes: number, options: Record<string, unknown>) => number };
  return ws.wsMaxFragments ? ws.wsMaxFragments(MAX_FRAME, {}) : 16 * 1024;
}

function inputsFor(f: Family, t: string, ctx: TortureContext): BadInput[] {
  if (f === 'ws') return wsInputs(MAX_FRAME, wsFragmentLimit(), ctx.rng);
  if (f === 'zmq') return zmqInputs(ctx.rng);
  return streamInputs(MAX_FRAME, ctx.rng);
}

async function writeBad(f: Family, address: string, input: BadInput): Promise<void> {
  if (f === 'ws') await writeWs(address, input.bytes, Boolean(input.raw), 3000, input.wrongPath);
  else if (f === 'pipe') await writeFifo(address, 0, input.bytes);
  else await writeStream(address, input.bytes);
}

/** A well-formed sender sends two frames; true when both arrived. */
async function stillServes(t: string, address: string, rp: ReceiverProc): Promise<boolean> {
  const before = rp.frames;
  try {
    const s = await getTransport(t).openSender(address, { producerId: 1, maxFrameBytes: MAX_FRAME, policy: 'block', options: {} });
    s.onError(() => undefined);
    try {
      await s.send(new Uint8Array(64 * 1024).fill(7));
      await s.send(new Uint8Array(MiB).fill(9));
    } finally {
      await s.close().catch(() => undefined);
    }
  } catch {
    return false;
  }
  return until(() => rp.frames >= before + 2, 5000);
}

async function tryInput(t: string, f: Family, rp: ReceiverProc, address: string, input: BadInput, baseRss: number): Promise<TortureCase> {
  const errs = rp.errors.length;
  const framesBefore = rp.frames;
  const t0 = Date.now();
  let writeError = '';
  await writeBad(f, address, input).catch((e: Error) => (writeError = e.message));
  const wantsCode = !input.expected.includes('none');
  await until(() => rp.errors.length > errs || rp.crash !== null, wantsCode ? 3000 : 300);
  const codes = rp.errors.slice(errs).map((e) => e.code);
  const got = rp.crash ? 'crash' : codes[0] ?? 'none';
  const ms = Date.now() - t0;
  const delivered = rp.frames - framesBefore; // a malformed input must never come out as a frame
  const wellFormed = input.wellFormed ?? 0; // ... except messages the random bytes happen to form
  const served = rp.crash ? false : await stillServes(t, address, rp);
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

/** Every bad input against one transport; pipe gets a fresh receiver per input (a FIFO is single-use). */
export async function malformedTransport(t: string, ctx: TortureContext): Promise<TortureCase[]> {
  const f = familyOf(t);
  if (!f) return [];
  const inputs = inputsFor(f, t, ctx);
  const picked = ctx.quick && f !== 'ws' ? inputs.filter((_, i) => i % 2 === 0) : inputs;
  const out: TortureCase[] = [];
  const perInput = f === 'pipe';
  const watch = new LeakWatch(ctx.tmpRoot);
  let runDir = '';
  let current: { rp: ReceiverProc; address: string } | null = null;
  let baseRss = 0;
  const open = async (): Promise<void> => {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'framebench-run-'));
    current = await ReceiverProc.open(t, runDir, MAX_FRAME, 2);
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
      out.push(await tryInput(t, f, c.rp, c.address, input, baseRss));
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

export function malformedSkip(t: string): TortureSkip | null {
  const reason = NOT_DRIVEN[t];
  return reason ? { transport: t, what: 'malformed input', reason } : null;
}
