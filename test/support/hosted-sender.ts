import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import './require-ts';
import { fbError, type ErrorCode } from '../../core/errors';
import type { HostChannel, HostPort } from '../../transports/host-ports';
import type { ErrorHandler, Sender, SenderOptions, TransportStats } from '../../transports/types';

interface KitReply {
  kit: string;
  id?: number;
  ok?: boolean;
  code?: string;
  message?: string;
  /** The real sender's stats() after the request. */
  stats?: TransportStats;
}

/**
 * The conformance kit's sender for topology 'consumer-forks-producers' (node-ipc): the real
 * sender runs in a child this (test) process forked, as the consumer forks its producers;
 * this proxy forwards send/close to it and its errors and stats back. The child's channel joins
 * the receiver's host channel (ReceiverOptions.host), so the receiver sees it exactly as in a run.
 */
export class HostedSender implements Sender {
  private readonly errors: ErrorHandler[] = [];
  private readonly pending = new Map<number, { resolve(ok: boolean): void; reject(e: Error): void }>();
  private nextId = 0;
  private closed: Promise<void> | null = null;
  private lastStats: TransportStats;

  private constructor(private readonly child: ChildProcess, stats: TransportStats) {
    this.lastStats = stats;
    child.on('exit', () => {
      // the real sender's process is gone: a send it never answered is refused with a code of
      // its own, so a test can tell it from the sender's own answer
      for (const p of this.pending.values()) p.reject(fbError('FB_ERR_INTERNAL', 'the hosted sender exited without answering this send'));
      this.pending.clear();
    });
    child.on('message', (m: KitReply) => {
      if (!m || typeof m.kit !== 'string') return;
      if (m.stats) this.lastStats = m.stats;
      if (m.kit === 'error') for (const h of this.errors) h(fbError(m.code as ErrorCode, m.message ?? ''));
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id as number);
      if (m.kit === 'sent') p.resolve(Boolean(m.ok));
      else if (m.kit === 'rejected') p.reject(fbError(m.code as ErrorCode, m.message ?? ''));
    });
  }

  /** `host`: the receiver's host channel (the child joins it, as a forked producer does in a run). */
  static async open(name: string, address: string, opts: SenderOptions, host: HostChannel): Promise<HostedSender> {
    const child = fork(path.join(__dirname, 'hosted-sender-child.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    host.addPort(child as unknown as HostPort);
    child.on('error', () => undefined); // a send racing the child's exit: its end is seen through 'exit'
    const reply = await new Promise<KitReply>((resolve) => {
      const on = (m: KitReply): void => {
        if (m?.kit === 'opened' || m?.kit === 'open-failed') {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      const { host: _host, ...plain } = opts; // the child's own channel is its host: nothing to pass
      child.send({ kit: 'open', name, address, opts: plain });
    });
    if (reply.kit === 'open-failed') {
      child.kill('SIGKILL');
      throw fbError(reply.code as ErrorCode, reply.message ?? '');
    }
    return new HostedSender(child, reply.stats ?? {});
  }

  send(frame: Uint8Array): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.child.send({ kit: 'send', id, frame });
    });
  }

  onError(handler: ErrorHandler): void {
    this.errors.push(handler);
  }

  /** The real sender's stats as of its last answer (after every send and close). */
  stats(): TransportStats {
    return this.lastStats;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = new Promise<void>((resolve) => {
        const done = (): void => {
          this.child.kill('SIGKILL');
          resolve();
        };
        // answers to sends the child's close() refused may arrive just after 'closed'
        const settleThenDone = (): void => {
          const until = Date.now() + 1000;
          const poll = (): void => (this.pending.size === 0 || Date.now() > until ? done() : void setTimeout(poll, 5));
          poll();
        };
        if (!this.child.connected) return done();
        const timer = setTimeout(done, 3000);
        this.child.on('message', (m: KitReply) => {
          if (m?.kit === 'closed') {
            clearTimeout(timer);
            settleThenDone();
          }
        });
        this.child.send({ kit: 'close' });
      });
    }
    return this.closed;
  }
}
