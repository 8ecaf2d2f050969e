import { readdirSync, readFileSync, readlinkSync, statSync, truncateSync } from 'node:fs';
import * as path from 'node:path';
import type { TortureContext } from './context';
import { LeakWatch } from './leaks';
import { STALL_LIMIT_MS, spawnFx, type Fx } from './shm-hostile';
import type { TortureCase } from './types';
import type { HostileConsumerResult } from './ring-peers/peer-ipc';

/**
 * Attacks on the shared-memory ring by a producer that holds only what producers are given (the
 * consumer page, read-only; a region of its own; its connection), each beside an honest producer:
 * - 'pads': writes the smallest pads into its region as fast as space frees (the consumer's scan budget);
 * - 'claim': claims its whole region and never commits, staying alive: cut off after the claim
 *   timeout (FB_ERR_RING_CORRUPT naming it), the honest producer never waits for it;
 * - 'page-write': tries to write the consumer page (where the read cursors live): a writable
 *   mapping through its own descriptor and through one reopened via /proc/self/fd, and write():
 *   each must fail with EPERM (sealed F_SEAL_FUTURE_WRITE); mprotect(PROT_WRITE) of its read-only
 *   mapping: EACCES;
 * - 'other-region': looks for any descriptor or mapping of another producer's region in a
 *   producer process (/proc/<pid>/fd and maps): there must be none (flipping another producer's
 *   record state, which the shared ring allowed, needs one);
 * - 'truncate': truncates and grows the memory through every descriptor reachable (the consumer's
 *   /proc/<pid>/fd entries: page and regions): must fail with EPERM (sealed).
 * Each: the consumer ends alive (cutting off only the attacker), its event loop never missed a
 * second, the honest producer's records keep coming, nothing leaks.
 */
export type ShmAttack = 'pads' | 'claim' | 'page-write' | 'other-region' | 'truncate';
export const SHM_ATTACKS: readonly ShmAttack[] = ['pads', 'claim', 'page-write', 'other-region', 'truncate'];

const CLAIM_TIMEOUT_MS = 600;


/** Truncates/grows every framebench memfd of `pid` through /proc; returns the outcomes that were not EPERM. */
function truncateAll(pid: number): { tried: number; notRefused: string[] } {
  let tried = 0;
  const notRefused: string[] = [];
  for (const p of memfds(pid)) {
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

/** /proc/<pid>/fd entries that are framebench memfds. */
function memfds(pid: number): string[] {
  const dir = `/proc/${pid}/fd`;
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    try {
      if (readlinkSync(path.join(dir, n)).startsWith('/memfd:framebench')) out.push(path.join(dir, n));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Inodes of ring regions a process holds as descriptors or maps. */
function regionsOf(pid: number): Set<number> {
  const out = new Set<number>();
  for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    if (line.includes('/memfd:framebench-region')) out.add(Number(line.trim().split(/\s+/)[4]));
  }
  for (const p of memfds(pid)) {
    try {
      if (readlinkSync(p).startsWith('/memfd:framebench-region')) out.add(statSync(p).ino);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

export async function shmAttackCase(t: string, attack: ShmAttack, ctx: TortureContext): Promise<TortureCase> {
  const watch = new LeakWatch(ctx.tmpRoot);
  const all: Fx[] = [];
  const problems: string[] = [];
  let got: string;
  let stall = -1;
  const t0 = Date.now();
  const expected = attack === 'claim' ? 'FB_ERR_RING_CORRUPT' : 'none';
  try {
    const consumer = spawnFx('consumer.js', [JSON.stringify({ mode: 'hostile', ringBytes: attack === 'claim' ? 32 * 1024 * 1024 : 64 * 1024, runMs: 2000, claimTimeoutMs: CLAIM_TIMEOUT_MS })]);
    all.push(consumer);
    const { name } = (await consumer.next('ready', 20_000)) as { name: string };
    const cpid = consumer.proc.pid as number;
    const honest = spawnFx('producer.js', [JSON.stringify({ name, producer: 0, count: 1e9, maxLen: 8000, seed: 7, mode: 'stream' })]);
    all.push(honest);
    await honest.next('open', 20_000);
    let attackerPid = -1;
    if (attack === 'truncate') {
      const r = truncateAll(cpid);
      if (r.tried === 0) problems.push('no ring descriptor found to attack');
      problems.push(...r.notRefused);
    } else if (attack === 'other-region') {
      const other = spawnFx('producer.js', [JSON.stringify({ name, producer: 1, count: 1e9, maxLen: 8000, seed: 8, mode: 'stream' })]);
      all.push(other);
      await other.next('open', 20_000);
      const [a, b] = [honest, other].map((f) => regionsOf(f.proc.pid as number));
      if (a.size !== 1 || b.size !== 1) problems.push(`producers hold ${a.size} and ${b.size} regions (1 each expected)`);
      const shared = [...a].filter((i) => b.has(i));
      if (shared.length) problems.push(`a region is reachable from both producers (inode ${shared.join(',')})`);
    } else {
      const attacker = spawnFx('flooder.js', [name, attack === 'claim' ? '4000' : '2500', attack === 'claim' ? 'claim' : 'pads']);
      all.push(attacker);
      attackerPid = attacker.proc.pid as number;
      const started = (await attacker.next('started', 20_000)) as { truncate: string[]; pageWrite: string[]; pageProtect: string };
      if (attack === 'page-write') {
        const notRefused = started.pageWrite.filter((c) => c !== 'EPERM');
        if (notRefused.length) problems.push(`writing the consumer page: ${started.pageWrite.join(', ')} (EPERM expected)`);
        if (started.pageProtect !== 'EACCES') problems.push(`mprotect(PROT_WRITE) of the page mapping: ${started.pageProtect} (EACCES expected)`);
      }
    }
    watch.note(all.map((f) => f.proc.pid as number));
    if (consumer.proc.connected) consumer.proc.send({ type: 'go' }, () => undefined);
    const r = (await consumer.next('result', 30_000)) as unknown as HostileConsumerResult;
    const cut = r.messages.filter((m) => m.startsWith('FB_ERR_RING_CORRUPT'));
    got = r.outcome !== 'alive' ? `consumer ${r.outcome}` : cut.length ? 'FB_ERR_RING_CORRUPT' : 'none';
    stall = r.maxStallMs;
    if (stall >= STALL_LIMIT_MS) problems.push(`the consumer's event loop stalled ${stall} ms`);
    if (attack === 'claim' && !(cut.length === 1 && cut[0].includes(`pid ${attackerPid})`))) problems.push(`the claimer was not cut off by name: ${JSON.stringify(cut)}`);
    const allowed = attack === 'claim' ? ['FB_ERR_RING_CORRUPT'] : [];
    const bad = r.codes.filter((c) => !allowed.includes(c));
    if (bad.length) problems.push(`unexpected codes ${bad.join(',')}: ${r.messages.slice(0, 2).join(' | ')}`);
    const honestBefore = r.atFirstCut?.['0'] ?? 0;
    if (!((r.byProducer['0'] ?? 0) > honestBefore)) problems.push(`the honest producer stopped (${r.byProducer['0'] ?? 0} records, ${honestBefore} at the cut)`);
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
  const what = {
    pads: 'a pad flood',
    claim: 'a claim never committed by a live producer',
    'page-write': 'writes into the read-only consumer page',
    'other-region': "reaching another producer's region",
    truncate: 'truncate/grow through /proc/<consumer>/fd',
  }[attack];
  return {
    group: 'malformed',
    name: `${t}: hostile producer: ${what}`,
    transport: t,
    expected: [expected],
    got,
    ok: problems.length === 0 && leaks.length === 0 && got === expected,
    framesLostUnreported: 0,
    leaks,
    detail: `${got === 'none' ? 'consumer alive' : got === 'FB_ERR_RING_CORRUPT' ? 'the attacker cut off, consumer alive' : got} after ${Date.now() - t0} ms; longest stall ${stall} ms${problems.length ? `; ${problems.join('; ')}` : ''}`,
    figures: { maxStallMs: stall },
  };
}
