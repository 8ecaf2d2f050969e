import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fbError, type ErrorCode, FbError } from '../core/errors';
import type { FromChild, ToChild } from './protocol';

const CHILD_ENTRY = path.join(__dirname, 'child.js');

/**
 * A producer or consumer process as the coordinator sees it: typed messages in and
 * out, its death turned into an FB_ERR_PEER_GONE failure, the tail of its stderr kept
 * for the error message.
 */
export class ChildProc {
  readonly proc: ChildProcess;
  readonly label: string;
  private stderrTail = '';
  private waiters: Array<{ type: FromChild['t']; resolve: (m: FromChild) => void }> = [];
  private failed: ((e: FbError) => void) | null = null;
  exited = false;
  private expectExit = false;

  constructor(label: string, env: NodeJS.ProcessEnv, execArgv: string[] = [], execPath?: string, entry = CHILD_ENTRY) {
    this.label = label;
    this.proc = fork(entry, [], {
      env,
      execArgv,
      ...(execPath ? { execPath } : {}),
      serialization: 'json',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    this.proc.on('message', (m: FromChild) => this.onMessage(m));
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      if (this.expectExit && code === 0) return;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderrTail.trim().split('\n').slice(-1)[0];
      this.fail(fbError('FB_ERR_PEER_GONE', `${this.label} (pid ${this.proc.pid}) ${how}${tail ? `: ${tail}` : ''}`));
    });
    this.proc.on('error', (e) => this.fail(fbError('FB_ERR_PEER_GONE', `${this.label}: ${e.message}`)));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Registers the handler called once on this process's first failure. */
  onFailure(cb: (e: FbError) => void): void {
    this.failed = cb;
  }

  private fail(e: FbError): void {
    const cb = this.failed;
    this.failed = null;
    cb?.(e);
  }

  /** Messages about producers this process hosts (relayed by it), by label. */
  private readonly hosted = new Map<string, (m: FromChild) => void>();

  /** Routes 'hosted' / 'relayed' / 'hosted-exit' messages about hosted producer `label` to `cb`. */
  onHosted(label: string, cb: (m: FromChild) => void): void {
    this.hosted.set(label, cb);
  }

  private onMessage(m: FromChild): void {
    if (m.t === 'hosted' || m.t === 'relayed' || m.t === 'hosted-exit') {
      this.hosted.get(m.label)?.(m);
      return;
    }
    if (m.t === 'error') {
      this.fail(new FbError(m.code as ErrorCode, `${this.label}: ${m.message}`));
      return;
    }
    const i = this.waiters.findIndex((w) => w.type === m.t);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(m);
    }
  }

  send(m: ToChild): void {
    if (m.t === 'exit') this.expectExit = true;
    if (this.proc.connected) this.proc.send(m);
  }

  waitFor<T extends FromChild['t']>(type: T): Promise<Extract<FromChild, { t: T }>> {
    return new Promise((resolve) => this.waiters.push({ type, resolve: resolve as (m: FromChild) => void }));
  }

  /** Resolves when the process has exited (SIGKILL after graceMs). */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    this.expectExit = true;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.send({ t: 'exit' });
    const t1 = setTimeout(() => this.proc.kill('SIGTERM'), graceMs);
    const t2 = setTimeout(() => this.proc.kill('SIGKILL'), graceMs * 2);
    await gone;
    clearTimeout(t1);
    clearTimeout(t2);
  }

  kill(): void {
    this.expectExit = true;
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}
