import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isFbError } from '../core/errors';
import { emptyHeader, headerView, readHeader } from '../core/frame';
import { frameSpec } from '../core/spec';
import { SyntheticSource, SyntheticVerifier } from '../sources/synthetic';
import { HostChannel } from '../transports/host-ports';
import { contractProblems } from '../transports/registry';
import type { Receiver, ReceiverOptions, Sender, SenderOptions, Transport, TransportStats } from '../transports/types';

/**
 * The conformance checks of test/conformance.test.ts that a user's transport module must pass, runnable
 * from the installed package (`framebench check-transport ./my-transport.ts`): both ends in this process,
 * each check with its own private 0700 run directory. Each check says what failed; none measures speed.
 */
export interface CheckOutcome {
  name: string;
  ok: boolean;
  /** What failed (empty when ok). */
  detail: string;
}

const ODD_SIZES = [1, 7, 4097, 65536 + 3, 131001, 1_000_003];

class Bench {
  readonly runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-check-'));
  readonly host = new HostChannel();
  private readonly closers: Array<() => Promise<void>> = [];
  constructor(readonly t: Transport) {
    fs.chmodSync(this.runDir, 0o700);
  }
  async receiver(over: Partial<ReceiverOptions> = {}): Promise<Receiver> {
    const r = await this.t.createReceiver({ runDir: this.runDir, maxFrameBytes: this.t.maxFrameBytes, producers: 1, policy: 'block', options: {}, host: this.host, ...over });
    this.closers.push(() => r.close());
    return r;
  }
  async sender(r: Receiver, over: Partial<SenderOptions> = {}): Promise<Sender> {
    const s = await this.t.openSender(r.address, { producerId: 0, maxFrameBytes: this.t.maxFrameBytes, policy: 'block', options: {}, host: this.host, ...over });
    this.closers.push(() => s.close());
    return s;
  }
  async dispose(): Promise<void> {
    for (const c of this.closers.reverse()) await c().catch(() => {});
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function codeOf(e: unknown): string {
  return isFbError(e) ? (e as { code: string }).code : `a raw error (${e instanceof Error ? e.message : String(e)}), not an FbError`;
}

function shapeOf(stats: TransportStats): string {
  return JSON.stringify(Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, typeof v === 'string' ? 'text' : typeof v]).sort()));
}

async function send(s: Sender, frame: Uint8Array, viaLoan: boolean): Promise<boolean> {
  if (!viaLoan || !s.loan) return s.send(frame);
  const loan = await s.loan(frame.byteLength);
  if (!loan) return false;
  loan.view.set(frame);
  await loan.commit();
  return true;
}

type Check = [string, (b: Bench) => Promise<void>];

function framesChecks(viaLoan: boolean): Check[] {
  const via = viaLoan ? 'loan()/commit()' : 'send()';
  return [
    [`carries odd sizes whole, in order, byte-exact via ${via}`, async (b) => {
      const r = await b.receiver();
      const errors: string[] = [];
      r.onError((e) => errors.push(e.code));
      const sent = ODD_SIZES.map((n) => randomBytes(n));
      const bad: string[] = [];
      let got = 0;
      r.start((f, release) => {
        if (!Buffer.from(f.buffer, f.byteOffset, f.byteLength).equals(sent[got]!)) bad.push(`frame ${got}: ${f.byteLength} B differ from the ${sent[got]?.byteLength} B sent`);
        got++;
        release();
      });
      const s = await b.sender(r);
      s.onError((e) => errors.push(e.code));
      for (const f of sent) if (!(await send(s, f, viaLoan))) bad.push(`a ${f.byteLength} B frame was dropped under policy 'block'`);
      await waitFor(`${sent.length} frames (got ${got})`, () => got >= sent.length);
      await s.close();
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (bad.length || errors.length) throw new Error([...bad, ...errors.map((c) => `error after a clean close: ${c}`)].join('; '));
    }],
    [`carries 1080p I420 frames with framebench headers, verified and in order via ${via}`, async (b) => {
      const spec = frameSpec('i420', 1920, 1080);
      const r = await b.receiver();
      const verifier = new SyntheticVerifier(true);
      const hdr = emptyHeader();
      const bad: string[] = [];
      let got = 0;
      r.start((f, release) => {
        readHeader(headerView(f), hdr);
        if (hdr.seq !== got) bad.push(`seq ${hdr.seq} where ${got} was due`);
        const why = verifier.verify(f, hdr.producerId, hdr.seq);
        if (why) bad.push(`seq ${hdr.seq}: ${why}`);
        got++;
        release();
      });
      const s = await b.sender(r);
      const source = new SyntheticSource(spec, 0);
      const frame = new Uint8Array(spec.totalBytes);
      for (let seq = 0; seq < 4; seq++) {
        source.fill(frame, seq, 0, 0);
        await send(s, frame, viaLoan);
      }
      await waitFor(`4 frames (got ${got})`, () => got >= 4, 20_000);
      if (bad.length) throw new Error(bad.slice(0, 3).join('; '));
    }],
  ];
}

const LIFECYCLE: Check[] = [
  ['keeps per-sender order with 3 senders into one receiver', async (b) => {
    const r = await b.receiver({ producers: 3 });
    const next = [0, 0, 0];
    const bad: string[] = [];
    let got = 0;
    r.start((f, release) => {
      const p = f[0]!;
      const seq = f[1]!;
      if (seq !== next[p]) bad.push(`sender ${p}: frame ${seq} where ${next[p]} was due`);
      next[p] = seq + 1;
      got++;
      release();
    });
    const senders = await Promise.all([0, 1, 2].map((producerId) => b.sender(r, { producerId })));
    await Promise.all(senders.map(async (s, p) => {
      for (let seq = 0; seq < 12; seq++) await s.send(Buffer.alloc(20_000 + seq, 0).fill(p, 0, 1).fill(seq, 1, 2));
    }));
    await waitFor(`36 frames (got ${got})`, () => got >= 36);
    if (bad.length) throw new Error(bad.slice(0, 3).join('; '));
  }],
  ['the sender learns that the receiver closed (FB_ERR_PEER_GONE)', async (b) => {
    const r = await b.receiver();
    let got = 0;
    r.start((_f, release) => {
      got++;
      release();
    });
    const s = await b.sender(r);
    const codes: string[] = [];
    s.onError((e) => codes.push(e.code));
    const frame = randomBytes(1000);
    await s.send(frame);
    await waitFor('the first frame', () => got === 1);
    await r.close();
    const deadline = Date.now() + 5000;
    while (!codes.includes('FB_ERR_PEER_GONE') && Date.now() < deadline) {
      await s.send(frame).catch((e) => codes.push(codeOf(e)));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (!codes.includes('FB_ERR_PEER_GONE')) throw new Error(`no FB_ERR_PEER_GONE within 5 s of the receiver's close (saw: ${codes.join(', ') || 'nothing'})`);
  }],
  ["refuses a frame above the sender's maxFrameBytes with a code", async (b) => {
    const max = 64 * 1024;
    const r = await b.receiver({ maxFrameBytes: max });
    r.start((_f, release) => release());
    const s = await b.sender(r, { maxFrameBytes: max });
    const outcome = await s.send(new Uint8Array(max + 1)).then((x) => `resolved ${x}`, codeOf);
    if (outcome !== 'FB_ERR_FRAME_TOO_LARGE' && outcome !== 'FB_ERR_PROTOCOL') throw new Error(`send of max+1 bytes: ${outcome}`);
  }],
  ['close() is idempotent and leaves nothing behind in the run directory', async (b) => {
    const r = await b.receiver();
    r.start((_f, release) => release());
    const s = await b.sender(r);
    await s.send(randomBytes(5000));
    await Promise.all([s.close(), s.close()]);
    await Promise.all([r.close(), r.close()]);
    const left = fs.readdirSync(b.runDir);
    if (left.length) throw new Error(`left in the run directory: ${left.join(', ')}`);
  }],
  ['stats() of each end returns exactly its declared shape', async (b) => {
    const r = await b.receiver();
    let got = 0;
    r.start((_f, release) => {
      got++;
      release();
    });
    const s = await b.sender(r);
    await s.send(randomBytes(4096));
    await waitFor('the frame', () => got === 1);
    const want = (x: object) => JSON.stringify(Object.fromEntries(Object.entries(x).sort()));
    const bad = [['receiver', shapeOf(r.stats()), want(b.t.stats.receiver)], ['sender', shapeOf(s.stats()), want(b.t.stats.sender)]].filter(([, a, w]) => a !== w);
    if (bad.length) throw new Error(bad.map(([end, a, w]) => `${end} stats ${a}, declared ${w}`).join('; '));
  }],
];

/** Checks of the declarations alone (no end made). */
function declarationProblems(t: Transport): string[] {
  const out = contractProblems(t);
  if (out.length) return out;
  for (const o of t.options) {
    if (!o.name || !['integer', 'number', 'boolean', 'string'].includes(o.type) || !o.help) out.push(`option ${JSON.stringify(o.name)}: needs a name, a type and a help line`);
    else if (o.default !== undefined && typeof o.default !== (o.type === 'integer' ? 'number' : o.type)) out.push(`option ${o.name}: default ${JSON.stringify(o.default)} is not a ${o.type}`);
  }
  if (!(t.maxFrameBytes > 0)) out.push('maxFrameBytes must be > 0');
  return out;
}

/** Runs every check in turn; `onCheck` hears each outcome as it ends. */
export async function checkTransport(t: Transport, onCheck: (c: CheckOutcome) => void = () => {}): Promise<CheckOutcome[]> {
  const results: CheckOutcome[] = [];
  const note = (c: CheckOutcome) => {
    results.push(c);
    onCheck(c);
  };
  const decl = declarationProblems(t);
  note({ name: 'implements the Transport contract (transports/types.ts)', ok: decl.length === 0, detail: decl.join('; ') });
  if (decl.length) return results;
  const why = t.unavailableReason();
  note({ name: 'can run here (unavailableReason() is null)', ok: why === null, detail: why ?? '' });
  if (why !== null) return results;
  if (t.capabilities.topology && t.capabilities.topology !== 'separate') {
    note({ name: 'topology', ok: false, detail: `check-transport runs senders in this process; topology '${t.capabilities.topology}' is checked only by the repository's test suite` });
    return results;
  }
  const checks = [...framesChecks(false), ...(t.capabilities.zeroCopy ? framesChecks(true) : []), ...LIFECYCLE];
  for (const [name, fn] of checks) {
    const b = new Bench(t);
    try {
      await withTimeout(fn(b), 30_000, name);
      note({ name, ok: true, detail: '' });
    } catch (e) {
      note({ name, ok: false, detail: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
    } finally {
      await withTimeout(b.dispose(), 5000, 'closing').catch(() => {});
    }
  }
  return results;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}
