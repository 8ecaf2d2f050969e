/**
 * A producer process a torture receiver forks (receiver-child.ts), for a transport whose raw
 * input is its host channel ('host-channel': node-ipc): the receiver sees this process's
 * channel as a hosted producer's. One job per process, then it exits:
 *   {job: 'messages', list}  sends each message as it is (`{$bytes: n}` becomes n zero bytes),
 *                            then hangs up: the hostile writer;
 *   {job: 'send', transport, address, sizes, maxFrameBytes}  opens the real sender and sends
 *                            one frame per size, then closes: the well-formed one.
 * Answers {done: true, ok, error?} before exiting. Never prints.
 */
import { getTransport } from '../transports/registry';

interface Job {
  job: 'messages' | 'send';
  list?: unknown[];
  transport?: string;
  address?: string;
  sizes?: number[];
  maxFrameBytes?: number;
}

/** JSON cannot carry bytes: `{$bytes: n}` stands for a Uint8Array of n zero bytes. */
function withBytes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withBytes);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  if (typeof o.$bytes === 'number') return new Uint8Array(o.$bytes);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, withBytes(x)]));
}

function post(m: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send?.(m, undefined, {}, () => resolve());
  });
}

async function run(j: Job): Promise<void> {
  if (j.job === 'messages') {
    for (const m of j.list ?? []) await post(withBytes(m));
    return;
  }
  const s = await getTransport(String(j.transport)).openSender(String(j.address), {
    producerId: 1,
    maxFrameBytes: Number(j.maxFrameBytes),
    policy: 'block',
    options: {},
  });
  s.onError(() => undefined);
  try {
    for (const n of j.sizes ?? []) await s.send(new Uint8Array(n).fill(7));
  } finally {
    await s.close().catch(() => undefined);
  }
}

process.once('message', (raw) => {
  const j = raw as Job;
  run(j).then(
    () => post({ done: true, ok: true }),
    (e: unknown) => post({ done: true, ok: false, error: e instanceof Error ? e.message : String(e) }),
  ).finally(() => {
    if (process.connected) process.disconnect();
    process.exitCode = 0;
  });
});
process.on('disconnect', () => process.exit(0));
