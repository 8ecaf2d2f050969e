import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** The parent's handle on receiver-child.js: its messages, errors, frames, memory and exit. */
export class ReceiverProc {
  readonly errors: Array<{ code: string; message: string }> = [];
  frames = 0;
  crash: string | null = null;
  exitedWith: string | null = null;
  private readonly waiters: Array<{ t: string; resolve: (m: Record<string, unknown>) => void }> = [];
  private readonly proc: ChildProcess;

  private constructor() {
    this.proc = fork(path.join(__dirname, 'receiver-child.js'), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    this.proc.stderr?.resume();
    this.proc.on('error', () => undefined); // a send racing its exit: the exit handler reports it
    this.proc.on('message', (raw) => {
      const m = raw as Record<string, unknown> & { t: string };
      if (m.t === 'error') this.errors.push({ code: String(m.code), message: String(m.message) });
      else if (m.t === 'frame') this.frames++;
      else if (m.t === 'crash') this.crash = String(m.message);
      const i = this.waiters.findIndex((w) => w.t === m.t);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    });
    this.proc.on('exit', (code, sig) => {
      this.exitedWith = sig ?? `code ${code}`;
      if (code !== 0 && !this.crash) this.crash = `exited (${this.exitedWith})`;
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** `options`: the receiver's transport options (the torture's short deadlines). */
  static async open(transport: string, runDir: string, maxFrameBytes: number, producers: number, options: Record<string, unknown> = {}): Promise<{ rp: ReceiverProc; address: string }> {
    const rp = new ReceiverProc();
    const ready = rp.next('ready', 20_000);
    rp.proc.send({ t: 'open', transport, runDir, maxFrameBytes, producers, options });
    const m = await ready;
    return { rp, address: String(m.address) };
  }

  next(t: string, ms: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver child: no '${t}' within ${ms} ms${this.crash ? ` (${this.crash})` : ''}`)), ms);
      this.waiters.push({ t, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  /**
   * Runs a job (hosted-writer-child.ts) in a producer the receiver's process forks on its host
   * channel: hostile messages, or a well-formed sender's frames. Resolves with its answer.
   */
  async hosted(job: Record<string, unknown>): Promise<{ ok: boolean; error?: string }> {
    if (this.exitedWith || !this.proc.connected) return { ok: false, error: `receiver gone (${this.exitedWith ?? 'disconnected'})` };
    const reply = this.next('hosted-done', 15_000);
    this.proc.send({ t: 'hosted', job });
    try {
      const m = await reply;
      return { ok: Boolean(m.ok), error: m.error === undefined ? undefined : String(m.error) };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  async rss(): Promise<number> {
    if (this.exitedWith || !this.proc.connected) return 0;
    const reply = this.next('rss', 5000);
    this.proc.send({ t: 'rss' });
    try {
      return Number((await reply).rss ?? 0);
    } catch {
      return 0;
    }
  }

  /** Closes the receiver and waits for the process to exit (SIGKILL after 5 s). */
  async close(): Promise<void> {
    if (this.exitedWith) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    if (this.proc.connected) this.proc.send({ t: 'close' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
}

/** Polls `cond` every 10 ms until true or `ms` passed; returns whether it became true. */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
