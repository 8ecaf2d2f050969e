import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fbError, type ErrorCode, type FbError, ERROR_CODES } from '../core/errors';
import { encode, newHistogram, recordUs } from '../core/histogram';
import type { CaseSpec, ConsumerReport, ProducerReport, TransportStats } from '../core/case';
import { getTransport } from '../transports/registry';
import type { NativeEnds } from '../transports/types';
import { MeasureWindow } from '../measure/window';

/**
 * The harness's side of a native peer program: a producer or consumer written in C (or anything
 * that speaks the line protocol of docs/ring-c.md) that does the same work as harness/producer.ts
 * or harness/consumer.ts, in its own process, which this process starts and measures.
 *
 * This process only relays: it sends the program the case (init, start, window, drain) as JSON
 * lines on its stdin and reads its answers on its stdout; the figures of the window are the
 * program's, read from /proc at the window's edges (CPU of all its threads, kernel bytes, faults)
 * and from its own copy-count page, never this relay's. What the program counts itself (frames,
 * order, checksums, latency samples) comes back in its 'done' line.
 */

/** How long a program has to answer init (it creates or joins the ring). */
const READY_MS = 10_000;
/** How long a program has to exit after 'exit' or its stdin closing. */
const EXIT_MS = 3_000;

type PeerLine = { t: string } & Record<string, unknown>;

/** A native program has no garbage collector: its GC pauses are none (so faults and context switches are shown). */
const NO_GC = Object.freeze({ count: 0, us: 0 });

function isErrorCode(c: unknown): c is ErrorCode {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, c);
}

function numbers(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw fbError('FB_ERR_PROTOCOL', `native peer: '${what}' is not a list of numbers`);
  }
  return v as number[];
}

function count(line: PeerLine, key: string): number {
  const v = line[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fbError('FB_ERR_PROTOCOL', `native peer: '${key}' is not a count: ${JSON.stringify(v)}`);
  return v;
}

function statsOf(v: unknown): TransportStats {
  if (typeof v !== 'object' || v === null) return {};
  return Object.fromEntries(Object.entries(v).filter(([, x]) => (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'string')) as TransportStats;
}

/** One running peer program: JSON lines in and out, its death an FB_ERR_PEER_GONE. */
export class PeerProgram {
  readonly proc: ChildProcess;
  private waiters: Array<{ t: string; resolve: (l: PeerLine) => void; reject: (e: FbError) => void }> = [];
  private failure: FbError | null = null;
  private onFail: ((e: FbError) => void) | null = null;
  private stderrTail = '';
  private exited = false;
  private expectExit = false;

  constructor(readonly label: string, program: string, env: NodeJS.ProcessEnv) {
    this.proc = spawn(program, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    this.proc.stdin?.on('error', () => {
      /* the program is gone: its exit says how */
    });
    const lines = createInterface({ input: this.proc.stdout as NodeJS.ReadableStream });
    lines.on('line', (text) => this.onLine(text));
    this.proc.on('error', (e) => this.fail(fbError('FB_ERR_NATIVE_UNAVAILABLE', `${label}: cannot start ${program}: ${e.message}`)));
    // 'close': after it exited AND its stdout is read to the end (an error line it wrote before
    // exiting is reported with its own code, not as a death)
    this.proc.on('close', (code, signal) => {
      this.exited = true;
      if (this.expectExit && code === 0) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderrTail.trim().split('\n').slice(-1)[0];
      this.fail(fbError('FB_ERR_PEER_GONE', `${label} (native, pid ${this.proc.pid}) ${how}${tail ? `: ${tail}` : ''}`));
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Called once, on the program's first failure (an error line, or its death). */
  whenFailed(cb: (e: FbError) => void): void {
    this.onFail = cb;
    if (this.failure) cb(this.failure);
  }

  private fail(e: FbError): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
    this.onFail?.(e);
  }

  private onLine(text: string): void {
    let line: PeerLine;
    try {
      line = JSON.parse(text) as PeerLine;
      if (typeof line !== 'object' || line === null || typeof line.t !== 'string') throw new Error('no t');
    } catch {
      return this.fail(fbError('FB_ERR_PROTOCOL', `${this.label} (native) wrote a line that is not a message: ${text.slice(0, 200)}`));
    }
    if (line.t === 'error') {
      const code = isErrorCode(line.code) ? line.code : 'FB_ERR_INTERNAL';
      return this.fail(fbError(code, `${this.label} (native): ${String(line.message ?? 'no message')}`));
    }
    const i = this.waiters.findIndex((w) => w.t === line.t);
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(line);
  }

  send(msg: Record<string, unknown>): void {
    if (this.exited || this.failure) return;
    this.proc.stdin?.write(`${JSON.stringify(msg)}\n`);
  }

  /** The next line of type `t` (or the program's failure; FB_ERR_TIMEOUT after `ms`). */
  next(t: string, ms = Infinity): Promise<PeerLine> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const w = { t, resolve, reject };
      this.waiters.push(w);
      if (Number.isFinite(ms)) {
        setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i < 0) return;
          this.waiters.splice(i, 1);
          reject(fbError('FB_ERR_TIMEOUT', `${this.label} (native) did not answer '${t}' within ${ms} ms`));
        }, ms).unref();
      }
    });
  }

  /** Asks it to exit, then kills it if it has not within EXIT_MS; resolves once it is gone. Idempotent. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.expectExit = true;
    this.send({ t: 'exit' });
    this.proc.stdin?.end();
    if (await this.exitWithin(EXIT_MS)) return;
    this.proc.kill('SIGKILL');
    await this.exitWithin(EXIT_MS);
  }

  private exitWithin(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.proc.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** The native ends a transport declares (transports/types.ts NativeEnds), or null. */
export function nativeEndsOf(spec: CaseSpec): NativeEnds | null {
  return getTransport(spec.transport).nativeEnds ?? null;
}

/** The program's environment: ours, with its own copy-count page when copy accounting is on. */
function peerEnv(): { env: NodeJS.ProcessEnv; page: { path: string; unlink(): void } | null } {
  if (!process.env.FRAMEBENCH_COPYCOUNT) return { env: process.env, page: null };
  const cc = require('../measure/copycount') as { CopyCountPage: { create(): { path: string; env(): Record<string, string>; unlink(): void } } };
  const page = cc.CopyCountPage.create();
  return { env: { ...process.env, ...page.env() }, page };
}

/** Opens the window at t0 + warm-up unless the coordinator announces one (steady warm-up). */
function defaultWindow(spec: CaseSpec, t0Ns: number): [number, number] | null {
  if (spec.steadyWarmupMaxMs !== undefined) return null;
  const open = t0Ns + spec.warmupMs * 1e6;
  return [open, open + spec.durationMs * 1e6];
}

/** A consumer whose frames a native program receives and checks (the role harness/consumer.ts plays). */
export class NativeConsumer {
  private peer!: PeerProgram;
  private page: { path: string; unlink(): void } | null = null;
  private window: MeasureWindow | null = null;
  private onFatal: ((e: Error) => void) | null = null;
  private fatal: FbError | null = null;

  constructor(private readonly spec: CaseSpec, private readonly ends: NativeEnds) {}

  async open(): Promise<string> {
    const end = this.ends.consumer;
    if (!end) throw fbError('FB_ERR_INTERNAL', `${this.spec.transport}: no native consumer`);
    const { env, page } = peerEnv();
    this.page = page;
    this.peer = new PeerProgram('consumer', end.program(), env);
    this.peer.whenFailed((e) => {
      this.fatal = this.fatal ?? e;
      this.onFatal?.(e);
    });
    const init = end.init({
      runDir: this.spec.runDir,
      maxFrameBytes: this.spec.maxFrameBytes,
      producers: this.spec.producers,
      policy: this.spec.policy,
      options: this.spec.transportOptions,
    });
    this.peer.send({ t: 'init', role: 'consumer', ...init });
    const ready = await this.peer.next('ready', READY_MS);
    if (typeof ready.address !== 'string') throw fbError('FB_ERR_PROTOCOL', 'native consumer: ready without an address');
    return ready.address;
  }

  whenFatal(cb: (e: Error) => void): void {
    this.onFatal = cb;
    if (this.fatal) cb(this.fatal);
  }

  start(t0Ns: number): void {
    this.peer.send({ t: 'start', t0Ns });
    const w = defaultWindow(this.spec, t0Ns);
    if (w) this.setWindow(w[0], w[1]);
  }

  setWindow(openNs: number, closeNs: number): void {
    if (this.window) return;
    this.peer.send({ t: 'window', openNs, closeNs });
    this.window = new MeasureWindow(openNs, closeNs, { pid: this.peer.pid, copyPage: this.page?.path, hostCpu: true });
  }

  async drain(expected: number[], timeoutMs: number): Promise<ConsumerReport> {
    if (this.fatal) throw this.fatal;
    this.peer.send({ t: 'drain', expected, timeoutMs });
    const done = await this.peer.next('done', timeoutMs + READY_MS);
    // a producer the program cut off (FB_ERR_RING_CORRUPT) or lost fails the case, as in the Node consumer
    const ringErrors = Array.isArray(done.ringErrors) ? (done.ringErrors as Array<{ code?: unknown; message?: unknown }>) : [];
    if (ringErrors.length > 0) {
      const first = ringErrors[0];
      throw fbError(isErrorCode(first.code) ? first.code : 'FB_ERR_INTERNAL', `consumer (native): ${String(first.message ?? 'ring error')}${ringErrors.length > 1 ? ` (and ${ringErrors.length - 1} more)` : ''}`);
    }
    const hist = newHistogram();
    for (const us of numbers(done.latencyUs, 'latencyUs')) recordUs(hist, us);
    const window = (this.window ?? new MeasureWindow(0, 0)).figures();
    window.frames = count(done, 'windowFrames');
    window.gc = NO_GC;
    return {
      framesReceived: count(done, 'framesReceived'),
      framesCorrupt: count(done, 'framesCorrupt'),
      outOfOrder: count(done, 'outOfOrder'),
      gaps: count(done, 'gaps'),
      receivedPerProducer: numbers(done.receivedPerProducer, 'receivedPerProducer'),
      firstProblem: typeof done.firstProblem === 'string' ? done.firstProblem : null,
      histogram: encode(hist),
      window,
      transportStats: statsOf(done.stats),
      drained: done.drained === true,
    };
  }

  async close(): Promise<void> {
    await this.peer?.stop();
    this.page?.unlink();
    this.page = null;
  }
}

/** A producer that is a native program (the role harness/producer.ts plays). */
export class NativeProducer {
  private peer!: PeerProgram;
  private page: { path: string; unlink(): void } | null = null;
  private window: MeasureWindow | null = null;
  private fatal: FbError | null = null;

  constructor(private readonly spec: CaseSpec, private readonly producerId: number, private readonly ends: NativeEnds) {}

  async open(address: string): Promise<void> {
    const end = this.ends.producer;
    if (!end) throw fbError('FB_ERR_INTERNAL', `${this.spec.transport}: no native producer`);
    if (this.spec.source !== 'synthetic') {
      throw fbError('FB_ERR_USAGE', `${this.spec.transport}: its producer is a native program that makes synthetic frames only (source '${this.spec.source}')`);
    }
    if (this.spec.inject && Object.keys(this.spec.inject).length > 0) {
      throw fbError('FB_ERR_USAGE', `${this.spec.transport}: its native producer takes no injected faults or work`);
    }
    const { env, page } = peerEnv();
    this.page = page;
    this.peer = new PeerProgram(`producer ${this.producerId}`, end.program(), env);
    this.peer.whenFailed((e) => {
      this.fatal = this.fatal ?? e;
    });
    this.peer.send({
      t: 'init',
      role: 'producer',
      address,
      producerId: this.producerId,
      format: this.spec.format,
      sizes: this.spec.sizes,
      fps: this.spec.fps,
      pacing: this.spec.pacing,
      policy: this.spec.policy,
    });
    await this.peer.next('ready', READY_MS);
  }

  /** Runs until the window closes (the program stops there), then reports. */
  async run(t0Ns: number): Promise<ProducerReport> {
    const done = this.peer.next('done');
    this.peer.send({ t: 'start', t0Ns });
    const w = defaultWindow(this.spec, t0Ns);
    if (w) this.setWindow(w[0], w[1]);
    const line = await done;
    const window = (this.window ?? new MeasureWindow(0, 0)).figures();
    window.frames = count(line, 'windowFrames');
    window.gc = NO_GC;
    if (this.fatal) throw this.fatal;
    return {
      producerId: this.producerId,
      framesGenerated: count(line, 'framesGenerated'),
      framesAccepted: count(line, 'framesAccepted'),
      framesDroppedByPolicy: count(line, 'framesDropped'),
      window,
      transportStats: statsOf(line.stats),
    };
  }

  setWindow(openNs: number, closeNs: number): void {
    if (this.window) return;
    this.peer.send({ t: 'window', openNs, closeNs });
    this.window = new MeasureWindow(openNs, closeNs, { pid: this.peer.pid, copyPage: this.page?.path });
  }

  async close(): Promise<void> {
    await this.peer?.stop();
    this.page?.unlink();
    this.page = null;
  }
}
