import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Child processes of the shm tests, talking over IPC: the ring peers the torture suite also uses
 * (consumer.js, producer.js, scribbler.js, compiled to dist/torture/ring-peers by `npm test`)
 * and this folder's own scripts.
 */
const RING_PEERS = path.join(__dirname, '..', '..', 'dist', 'torture', 'ring-peers');

function scriptPath(script: string): string {
  const peer = path.join(RING_PEERS, script);
  return fs.existsSync(peer) ? peer : path.join(__dirname, script);
}

export interface Child {
  proc: ChildProcess;
  messages: Record<string, unknown>[];
  /** Resolves with the first message of `type` (rejects after `ms` or if the child exits first). */
  next(type: string, ms?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
/** Under the ASan build (npm run test:asan) every child starts and runs several times slower. */
const SLOW = process.env.FRAMEBENCH_SHM_ADDON ? 3 : 1;

export function spawnFixture(script: string, args: string[]): Child {
  const proc = fork(scriptPath(script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(proc);
  proc.on('error', () => undefined); // a send racing the fixture's exit: 'exit' reports how it ended
  const messages: Record<string, unknown>[] = [];
  const waiters: { type: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  proc.on('message', (m) => {
    const msg = m as Record<string, unknown>;
    messages.push(msg);
    for (const w of waiters.splice(0)) {
      if (msg.type === w.type) w.resolve(msg);
      else waiters.push(w);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    }),
  );
  const next = (type: string, ms = 15_000 * SLOW) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const have = messages.find((m) => m.type === type);
      if (have) return resolve(have);
      const t = setTimeout(() => reject(new Error(`${script}: no '${type}' message within ${ms} ms (got ${JSON.stringify(messages)})`)), ms);
      waiters.push({ type, resolve: (m) => (clearTimeout(t), resolve(m)) });
      void exited.then((e) => {
        setTimeout(() => {
          clearTimeout(t);
          reject(new Error(`${script} exited (${JSON.stringify(e)}) before '${type}': ${JSON.stringify(messages)}`));
        }, 50);
      });
    });
  return { proc, messages, next, exited };
}

/** Kills every fixture still running (SIGKILL) and waits for them. */
export async function killAll(): Promise<void> {
  const all = [...live];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)))));
}

/** Is the ring's address (its descriptor's socket) still there? */
export function segmentExists(name: string): boolean {
  return fs.existsSync(name);
}

export async function waitUntil(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
