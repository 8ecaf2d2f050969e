import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fmtMiB, MiB, type TortureContext } from './context';
import { LeakWatch } from './leaks';
import { rssBytes } from './procs';
import type { TortureCase, TortureSkip } from './types';

/**
 * The shared-memory data path under a hostile producer. This reuses the shm tests' own
 * ring peers (torture/ring-peers: consumer 'hostile' mode, producer 'stream' mode and
 * scribbler, exactly as test/shm-hostile.test.ts drives them) rather than a second copy: two
 * honest producers and a scribbler that writes random bytes over its own region (the only
 * memory it can write). The consumer must stay alive, cutting the scribbler off
 * (FB_ERR_RING_CORRUPT naming it) or not noticing anything, never crash; the honest producers'
 * records keep coming after the cut and they end with FB_ERR_PEER_GONE when the consumer closes;
 * no segment is left; and here we also bound the consumer's RSS (+32 MiB).
 */
export const FIXTURES = path.join(__dirname, 'ring-peers');
const RSS_BOUND = 32 * MiB;
const ALLOWED = new Set(['FB_ERR_RING_CORRUPT', 'FB_ERR_PEER_GONE', 'FB_ERR_PROTOCOL']);
/** A consumer event loop that missed its turns this long fails the case. */
export const STALL_LIMIT_MS = 1000;

export interface Fx {
  proc: ChildProcess;
  next(type: string, ms: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export function spawnFx(script: string, args: string[]): Fx {
  const proc = fork(path.join(FIXTURES, script), args, { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const got: Record<string, unknown>[] = [];
  const waiters: Array<{ type: string; resolve: (m: Record<string, unknown>) => void }> = [];
  proc.on('message', (m) => {
    const msg = m as Record<string, unknown>;
    got.push(msg);
    const i = waiters.findIndex((w) => w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const next = (type: string, ms: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const have = got.find((m) => m.type === type);
      if (have) return resolve(have);
      const t = setTimeout(() => reject(new Error(`${script}: no '${type}' within ${ms} ms`)), ms);
      waiters.push({ type, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  return { proc, next, exited };
}

export function shmHostileSkip(t: string): TortureSkip | null {
  if (t !== 'shm' && t !== 'shm-copy') return null;
  return existsSync(path.join(FIXTURES, 'scribbler.js')) ? null : { transport: t, what: 'hostile ring writer', reason: `ring peers not found in ${FIXTURES}` };
}

/** One scribbling run (seed, where: 'all' | 'records'). */
export async function shmHostileCase(t: string, seed: number, where: string, ctx: TortureContext): Promise<TortureCase> {
  const watch = new LeakWatch(ctx.tmpRoot);
  const all: Fx[] = [];
  const problems: string[] = [];
  let got: string;
  let peak = 0;
  let base = 0;
  let timer: NodeJS.Timeout | undefined;
  let stall = -1;
  const t0 = Date.now();
  try {
    const consumer = spawnFx('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: 256 * 1024, runMs: 1500 })]);
    all.push(consumer);
    const { name } = (await consumer.next('ready', 20_000)) as { name: string };
    const cpid = consumer.proc.pid as number;
    base = rssBytes(cpid) ?? 0;
    timer = setInterval(() => (peak = Math.max(peak, rssBytes(cpid) ?? 0)), 50);
    const producers = [0, 1].map((producer) =>
      spawnFx('producer.js', [JSON.stringify({ name, producer, count: 1e9, maxLen: 8000, seed: seed * 10 + producer, mode: 'stream' })]),
    );
    all.push(...producers);
    await Promise.all(producers.map((p) => p.next('open', 20_000)));
    const scribbler = spawnFx('scribbler.js', [name, '1200', String(seed), where]);
    all.push(scribbler);
    watch.note(all.map((f) => f.proc.pid as number));
    await scribbler.next('started', 20_000);
    if (consumer.proc.connected) consumer.proc.send({ type: 'go' }, () => undefined); // it may have left already
    const result = (await consumer.next('result', 20_000)) as {
      outcome: string;
      codes: string[];
      records: number;
      maxStallMs: number;
      byProducer: Record<string, number>;
      atFirstCut: Record<string, number> | null;
      cutOff: number;
    };
    got = result.outcome !== 'alive' ? `consumer ${result.outcome}` : result.cutOff > 0 ? 'FB_ERR_RING_CORRUPT' : 'none';
    if (result.atFirstCut) {
      for (const p of ['0', '1']) {
        if (!((result.byProducer[p] ?? 0) > (result.atFirstCut[p] ?? 0))) problems.push(`honest producer ${p} stopped at the cut`);
      }
    }
    stall = result.maxStallMs;
    if (stall >= STALL_LIMIT_MS) problems.push(`the consumer's event loop stalled ${stall} ms`);
    const bad = result.codes.filter((c) => !ALLOWED.has(c));
    if (bad.length) problems.push(`unexpected codes ${bad.join(',')}`);
    const ce = await consumer.exited;
    if (ce.code !== 0) problems.push(`consumer exited ${ce.signal ?? ce.code}`);
    for (const p of producers) {
      const end = (await p.next('error', 10_000).catch(() => ({ code: 'no error message' }))) as { code: string };
      if (end.code !== 'FB_ERR_PEER_GONE') problems.push(`honest producer ended with ${end.code}`);
      const pe = await p.exited;
      if (pe.code !== 0) problems.push(`producer exited ${pe.signal ?? pe.code}`);
    }
    await scribbler.exited;
    if (existsSync(name)) problems.push(`ring socket ${name} left behind`);
    problems.push(...[]);
  } catch (e) {
    got = 'hang';
    problems.push((e as Error).message);
  } finally {
    if (timer) clearInterval(timer);
    for (const f of all) f.proc.kill('SIGKILL');
  }
  const leaks = await watch.check();
  const grew = peak - base;
  if (grew > RSS_BOUND) problems.push(`consumer RSS grew ${fmtMiB(grew)}`);
  return {
    group: 'malformed',
    name: `${t}: hostile producer scribbling its region beside two honest ones (seed ${seed}, ${where})`,
    transport: t,
    expected: ['FB_ERR_RING_CORRUPT', 'none'],
    got,
    ok: problems.length === 0 && leaks.length === 0 && (got === 'none' || got === 'FB_ERR_RING_CORRUPT'),
    framesLostUnreported: 0,
    leaks,
    detail: `${got === 'none' ? 'consumer alive' : got === 'FB_ERR_RING_CORRUPT' ? 'scribbler cut off, consumer alive' : got} after ${Date.now() - t0} ms; longest stall ${stall} ms; consumer RSS peak ${fmtMiB(peak)} (+${fmtMiB(grew)})${problems.length ? `; ${problems.join('; ')}` : ''}`,
    figures: { consumerRssPeakBytes: peak, consumerRssGrowthBytes: grew, maxStallMs: stall },
  };
}
