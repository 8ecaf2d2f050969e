import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import './require-ts';
import { fbError, type ErrorCode } from '../../core/errors';
import type { HostPort } from '../../transports/host-ports';

/**
 * The registry the adapters see: they are loaded by Node's require (transports/registry.ts),
 * not by vitest's module graph, so this must be the same module instance.
 */
const { addHostPort } = createRequire(__filename)('../../transports/host-ports.ts') as typeof import('../../transports/host-ports');
import type { ErrorHandler, Sender, SenderOptions, TransportStats } from '../../transports/types';

interface KitReply {
  kit: string;
  id?: number;
  ok?: boolean;
  code?: string;
  message?: string;
}

/**
 * The conformance kit's sender for topology 'consumer-forks-producers' (node-ipc): the real
 * sender runs in a child this (test) process forked, as the consumer forks its producers;
 * this proxy forwards send/close to it and its errors back. The child's channel is registered
 * as a host port, so a receiver in this process sees it exactly as in a run.
 */
export class HostedSender implements Sender {
  private readonly errors: ErrorHandler[] = [];
  private readonly pending = new Map<number, { resolve(ok: boolean): void; reject(e: Error): void }>();
  private nextId = 0;
  private closed: Promise<void> | null = null;

  private constructor(private readonly child: ChildProcess) {
    child.on('exit', () => {
      // the real sender's process is gone: a send it never answered is refused with a code of
      // its own, so a test can tell it from the sender's own answer
      for (const p of this.pending.values()) p.reject(fbError('FB_ERR_INTERNAL', 'the hosted sender exited without answering this send'));
      this.pending.clear();
    });
    child.on('message', (m: KitReply) => {
      if (!m || typeof m.kit !== 'string') return;
      if (m.kit === 'error') for (const h of this.errors) h(fbError(m.code as ErrorCode, m.message ?? ''));
      const p = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id as number);
      if (m.kit === 'sent') p.resolve(Boolean(m.ok));
      else if (m.kit === 'rejected') p.reject(fbError(m.code as ErrorCode, m.message ?? ''));
    });
  }

  static async open(name: string, address: string, opts: SenderOptions): Promise<HostedSender> {
    const child = fork(path.join(__dirname, 'hosted-sender-child.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    addHostPort(child as unknown as HostPort);
    child.on('error', () => undefined); // a send racing the child's exit: its end is seen through 'exit'
    const reply = await new Promise<KitReply>((resolve) => {
      const on = (m: KitReply): void => {
        if (m?.kit === 'opened' || m?.kit === 'open-failed') {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      child.send({ kit: 'open', name, address, opts });
    });
    if (reply.kit === 'open-failed') {
      child.kill('SIGKILL');
      throw fbError(reply.code as ErrorCode, reply.message ?? '');
    }
    return new HostedSender(child);
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

  stats(): TransportStats {
    return {};
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
