/**
 * A receiver under attack, in its own process so that a crash is seen as a crash and its
 * memory can be measured alone. Forked by malformed.ts; speaks a tiny protocol over IPC:
 *   in:  {t:'open', transport, runDir, maxFrameBytes, producers, options}  {t:'rss'}  {t:'close'}
 *        {t:'hosted', job}: forks a producer on the receiver's host channel (hosted-writer-child.ts)
 *   out: {t:'ready', address}  {t:'error', code, message}  {t:'frame', bytes}
 *        {t:'rss', rss, frames}  {t:'closed'}  {t:'crash', message}  {t:'hosted-done', ok, error}
 * 'rss' runs a full GC first (forked with --expose-gc): what is measured is what it retains.
 * It never prints; anything thrown reaches the parent as 'crash' and the process exits 70.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { HostChannel, type HostPort } from '../transports/host-ports';
import { getTransport } from '../transports/registry';
import type { Receiver } from '../transports/types';
import { rssBytes } from './procs';

let receiver: Receiver | null = null;
let frames = 0;
/** The receiver's host channel (hosted topologies), as a consumer gives it. */
const host = new HostChannel();

/** Runs one job in a producer process forked on the host channel; resolves with its answer once it exited. */
function hostedJob(job: Record<string, unknown>): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const child = fork(path.join(__dirname, 'hosted-writer-child.js'), [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    let answer: { ok: boolean; error?: string } = { ok: false, error: 'exited without answering' };
    child.on('error', () => undefined); // a send racing its exit: 'exit' reports it
    child.on('message', (m: { done?: boolean; ok?: boolean; error?: string }) => {
      if (m?.done) answer = { ok: Boolean(m.ok), error: m.error };
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    host.addPort(child as unknown as HostPort);
    child.send(job);
  });
}

function send(m: Record<string, unknown>): void {
  if (process.connected) process.send?.(m);
}

function crash(e: unknown): void {
  send({ t: 'crash', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  setTimeout(() => process.exit(70), 50);
}

async function onMessage(m: {
  t: string;
  transport?: string;
  runDir?: string;
  maxFrameBytes?: number;
  producers?: number;
  options?: Record<string, unknown>;
  job?: Record<string, unknown>;
}): Promise<void> {
  if (m.t === 'open') {
    const r = await getTransport(String(m.transport)).createReceiver({
      runDir: String(m.runDir),
      maxFrameBytes: Number(m.maxFrameBytes),
      producers: Number(m.producers ?? 1),
      policy: 'block',
      options: m.options ?? {},
      host,
    });
    receiver = r;
    r.onError((e) => send({ t: 'error', code: e.code, message: e.message }));
    r.start((frame, release) => {
      frames++;
      const n = frame.byteLength;
      release();
      send({ t: 'frame', bytes: n });
    });
    send({ t: 'ready', address: r.address });
  } else if (m.t === 'hosted') {
    send({ t: 'hosted-done', ...(await hostedJob(m.job ?? {})) });
  } else if (m.t === 'rss') {
    // retained memory, not garbage V8 has not collected yet (forked with --expose-gc)
    (globalThis as { gc?: () => void }).gc?.();
    send({ t: 'rss', rss: rssBytes(process.pid), frames });
  } else if (m.t === 'close') {
    await receiver?.close();
    receiver = null;
    send({ t: 'closed' });
    process.disconnect();
  }
}

process.on('message', (m) => onMessage(m as { t: string }).catch(crash));
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.on('disconnect', () => {
  void (receiver?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
