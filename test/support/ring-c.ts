import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

/**
 * The native ring peers (native/c: fb-ring-consumer, fb-ring-producer; docs/ring-c.md) as the tests
 * drive them: one JSON object per line on stdin, one per line back on stdout.
 */
/** FRAMEBENCH_RING_PEERS: another build of them (npm run test:asan points it at the ASan + UBSan build). */
export const PEER_DIR = process.env.FRAMEBENCH_RING_PEERS || path.join(__dirname, '..', '..', 'native', 'build', 'Release');
export const PEERS = ['fb-ring-consumer', 'fb-ring-producer'] as const;
export type PeerName = (typeof PEERS)[number];

/** Why the peers cannot run here (not built), or null. */
export function peersUnavailable(): string | null {
  for (const p of PEERS) {
    if (!fs.existsSync(path.join(PEER_DIR, p))) return `${p} is not built (npm run build:native)`;
  }
  return null;
}

export type Msg = Record<string, unknown> & { t: string };

export interface Peer {
  proc: ChildProcess;
  lines: Msg[];
  stderr: string[];
  send(msg: object | string): void;
  /** The first line of type `t` not yet taken (rejects after `ms`, or when the peer exits first). */
  next(t: string, ms?: number): Promise<Msg>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

export function spawnPeer(name: PeerName, bin = path.join(PEER_DIR, name), env: NodeJS.ProcessEnv = process.env): Peer {
  const proc = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'], env });
  live.add(proc);
  proc.stdin?.on('error', () => undefined); // writes racing its exit
  const lines: Msg[] = [];
  const taken = new Set<Msg>();
  const stderr: string[] = [];
  const wake: (() => void)[] = [];
  readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
    let m: Msg;
    try {
      m = JSON.parse(l) as Msg;
    } catch {
      m = { t: 'unparsable', line: l };
    }
    lines.push(m);
    for (const w of wake.splice(0)) w();
  });
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      // stdout may still hold lines: let readline deliver them first
      setTimeout(() => {
        ended = true;
        for (const w of wake.splice(0)) w();
        resolve({ code, signal });
      }, 50);
    }),
  );
  const next = (t: string, ms = 15_000): Promise<Msg> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no '${t}' line within ${ms} ms (got ${JSON.stringify(lines).slice(0, 800)}; stderr ${stderr.join(' | ')})`)), ms);
      const look = (): void => {
        const m = lines.find((x) => x.t === t && !taken.has(x));
        if (m) {
          taken.add(m);
          clearTimeout(timer);
          return resolve(m);
        }
        if (ended) {
          clearTimeout(timer);
          return reject(new Error(`${name} exited before a '${t}' line: ${JSON.stringify(lines).slice(0, 800)}; stderr ${stderr.join(' | ')}`));
        }
        wake.push(look);
      };
      look();
    });
  return {
    proc,
    lines,
    stderr,
    send: (msg) => {
      if (proc.stdin?.writable) proc.stdin.write((typeof msg === 'string' ? msg : JSON.stringify(msg)) + '\n');
    },
    next,
    exited,
  };
}

/** Kills (SIGKILL) every peer still running and waits for them. */
export async function killPeers(): Promise<void> {
  const all = [...live];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)))));
}

/** A fresh 0700 directory for a ring's socket. */
export function ringDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'framebench-ringc-'));
}

/** CLOCK_MONOTONIC ns (what the peers read). */
export function monoNs(): number {
  const t = process.hrtime();
  return t[0] * 1e9 + t[1];
}

export interface ConsumerInit {
  socketPath: string;
  producers: number;
  regionBytes: number;
  maxFrameBytes?: number;
  claimTimeoutMs?: number;
}

/** Starts a C consumer and waits for its ready line; resolves with the peer and the ring's address. */
export async function startConsumer(o: ConsumerInit, bin?: string, env?: NodeJS.ProcessEnv): Promise<{ peer: Peer; address: string }> {
  const peer = spawnPeer('fb-ring-consumer', bin, env);
  peer.send({ t: 'init', role: 'consumer', maxFrameBytes: o.regionBytes - 32, claimTimeoutMs: 5000, ...o });
  const ready = await peer.next('ready');
  return { peer, address: String(ready.address) };
}

export interface ProducerInit {
  address: string;
  producerId: number;
  format?: 'i420' | 'rgba';
  sizes: [number, number][];
  fps?: number;
  pacing?: 'fps' | 'max';
  policy?: 'block' | 'drop';
}

export async function startProducer(o: ProducerInit, bin?: string, env?: NodeJS.ProcessEnv): Promise<Peer> {
  const peer = spawnPeer('fb-ring-producer', bin, env);
  peer.send({ t: 'init', role: 'producer', format: 'i420', fps: 30, pacing: 'max', policy: 'block', ...o });
  await peer.next('ready');
  return peer;
}
