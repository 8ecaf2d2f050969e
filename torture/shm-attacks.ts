import { readdirSync, readlinkSync, truncateSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { TortureContext } from './context';
import { LeakWatch } from './leaks';
import { STALL_LIMIT_MS, spawnFx, type Fx } from './shm-hostile';
import type { TortureCase } from './types';

/**
 * Attacks on the shared-memory ring by a producer that holds only what producers are given
 * (the ring's descriptor, from its socket):
 * - 'pads': writes the smallest pads as fast as space frees (the consumer's scan budget);
 * - 'gap': claims a slot under a dead pid and reserves the whole ring without sealing (the
 *   bounded gap walk);
 * - 'truncate': truncates and grows the memory through every descriptor reachable (the
 *   consumer's /proc/<pid>/fd entries): must fail with EPERM (sealed).
 * Each: the consumer ends alive, its event loop never missed a second, nothing leaks.
 */
export type ShmAttack = 'pads' | 'gap' | 'truncate';
export const SHM_ATTACKS: readonly ShmAttack[] = ['pads', 'gap', 'truncate'];

interface Result {
  outcome: string;
  codes: string[];
  records: number;
  maxStallMs: number;
  yields: number;
}

/** Truncates/grows every framebench memfd of `pid` through /proc; returns the outcomes that were not EPERM. */
function truncateAll(pid: number): { tried: number; notRefused: string[] } {
  const dir = `/proc/${pid}/fd`;
  let tried = 0;
  const notRefused: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = path.join(dir, n);
    let target: string;
    try {
      target = readlinkSync(p);
    } catch {
      continue;
    }
    if (!target.startsWith('/memfd:framebench')) continue;
    for (const size of [0, 1 << 30]) {
      tried++;
      try {
        truncateSync(p, size);
        notRefused.push(`truncate to ${size} succeeded`);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code !== 'EPERM') notRefused.push(`truncate to ${size}: ${code}`);
      }
    }
  }
  return { tried, notRefused };
}

export async function shmAttackCase(t: string, attack: ShmAttack, ctx: TortureContext): Promise<TortureCase> {
  const watch = new LeakWatch(ctx.tmpRoot);
  const all: Fx[] = [];
  const problems: string[] = [];
  let got: string;
  let stall = -1;
  const t0 = Date.now();
  try {
    const ringBytes = attack === 'gap' ? 32 * 1024 * 1024 : 64 * 1024;
    const consumer = spawnFx('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes, runMs: 2000 })]);
    all.push(consumer);
    const { name } = (await consumer.next('ready', 20_000)) as { name: string };
    const cpid = consumer.proc.pid as number;
    if (attack === 'truncate') {
      const producer = spawnFx('producer.js', [JSON.stringify({ name, producer: 0, count: 1e9, maxLen: 8000, seed: 7, mode: 'stream' })]);
      all.push(producer);
      await producer.next('open', 20_000);
      const r = truncateAll(cpid);
      if (r.tried === 0) problems.push('no ring descriptor found to attack');
      problems.push(...r.notRefused);
    } else {
      const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number;
      const attacker = spawnFx('flooder.js', [name, attack === 'gap' ? '2000' : '2500', attack, String(deadPid)]);
      all.push(attacker);
      await attacker.next(attack === 'gap' ? 'done' : 'started', 20_000);
    }
    watch.note(all.map((f) => f.proc.pid as number));
    if (consumer.proc.connected) consumer.proc.send({ type: 'go' }, () => undefined);
    const r = (await consumer.next('result', 30_000)) as unknown as Result;
    got = r.outcome === 'corrupt' ? 'FB_ERR_RING_CORRUPT' : 'none';
    stall = r.maxStallMs;
    if (stall >= STALL_LIMIT_MS) problems.push(`the consumer's event loop stalled ${stall} ms`);
    const allowed = attack === 'gap' ? ['FB_ERR_PEER_GONE'] : attack === 'truncate' ? ['FB_ERR_PEER_GONE'] : [];
    const bad = r.codes.filter((c) => !allowed.includes(c));
    if (bad.length) problems.push(`unexpected codes ${bad.join(',')}`);
    const ce = await consumer.exited;
    if (ce.code !== 0) problems.push(`consumer exited ${ce.signal ?? ce.code}`);
    for (const f of all.slice(1)) await Promise.race([f.exited, new Promise((res) => setTimeout(res, 10_000))]);
  } catch (e) {
    got = 'hang';
    problems.push((e as Error).message);
  } finally {
    for (const f of all) f.proc.kill('SIGKILL');
  }
  const leaks = await watch.check();
  const what = { pads: 'a pad flood', gap: 'a whole-ring reservation under a dead pid', truncate: 'truncate/grow through /proc/<consumer>/fd' }[attack];
  return {
    group: 'malformed',
    name: `${t}: hostile producer: ${what}`,
    transport: t,
    expected: ['none'],
    got,
    ok: problems.length === 0 && leaks.length === 0 && got === 'none',
    framesLostUnreported: 0,
    leaks,
    detail: `${got === 'none' ? 'consumer alive' : got} after ${Date.now() - t0} ms; longest stall ${stall} ms${problems.length ? `; ${problems.join('; ')}` : ''}`,
    figures: { maxStallMs: stall },
  };
}
