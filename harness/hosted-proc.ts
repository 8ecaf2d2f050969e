import { fbError, type ErrorCode, FbError } from '../core/errors';
import type { ChildProc } from './child-proc';
import type { FromChild, HostedLaunch, ToChild } from './protocol';

/**
 * A producer hosted by the consumer process (a child it forked, or one of its worker
 * threads), as the coordinator sees it: the same surface as ChildProc, every message going
 * through the consumer's control channel. Its death (reported by the consumer) is an
 * FB_ERR_PEER_GONE failure; if the consumer itself dies, the consumer's ChildProc reports it.
 */
export class HostedProc {
  private waiters: Array<{ type: FromChild['t']; resolve: (m: FromChild) => void }> = [];
  private failed: ((e: FbError) => void) | null = null;
  private expectExit = false;
  private hostedPid = -1;
  exited = false;
  private resolveExit: () => void = () => undefined;
  private readonly exitP = new Promise<void>((resolve) => (this.resolveExit = resolve));
  /** Resolves with the pid once the consumer started it. */
  readonly started: Promise<number>;
  private resolveStarted: (pid: number) => void = () => undefined;

  constructor(readonly label: string, private readonly consumer: ChildProc, launch: Omit<HostedLaunch, 'label'>) {
    this.started = new Promise((resolve) => (this.resolveStarted = resolve));
    consumer.onHosted(label, (m) => this.onMessage(m));
    consumer.send({ t: 'host', launch: { ...launch, label } });
  }

  get pid(): number {
    return this.hostedPid;
  }

  onFailure(cb: (e: FbError) => void): void {
    this.failed = cb;
  }

  private fail(e: FbError): void {
    const cb = this.failed;
    this.failed = null;
    cb?.(e);
  }

  private onMessage(m: FromChild): void {
    if (m.t === 'hosted') {
      this.hostedPid = m.pid;
      this.resolveStarted(m.pid);
    } else if (m.t === 'hosted-exit') {
      this.exited = true;
      this.resolveExit();
      if (!(this.expectExit && m.clean)) this.fail(fbError('FB_ERR_PEER_GONE', `${this.label} (pid ${this.hostedPid}, hosted by the consumer) ${m.how}`));
    } else if (m.t === 'relayed') {
      const inner = m.msg;
      if (inner.t === 'error') {
        this.fail(new FbError(inner.code as ErrorCode, `${this.label}: ${inner.message}`));
        return;
      }
      const i = this.waiters.findIndex((w) => w.type === inner.t);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(inner);
    }
  }

  send(m: ToChild): void {
    if (m.t === 'exit') this.expectExit = true;
    this.consumer.send({ t: 'relay', label: this.label, msg: m });
  }

  waitFor<T extends FromChild['t']>(type: T): Promise<Extract<FromChild, { t: T }>> {
    return new Promise((resolve) => this.waiters.push({ type, resolve: resolve as (m: FromChild) => void }));
  }

  /** Asks it to exit; the consumer kills what is left when it stops. Never waits past 2 x graceMs. */
  async stop(graceMs: number): Promise<void> {
    if (this.exited || this.consumer.exited) return;
    this.expectExit = true;
    this.send({ t: 'exit' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exitP, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs * 2)))]);
    clearTimeout(timer);
  }
}
