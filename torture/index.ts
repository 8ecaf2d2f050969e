import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getTransport, wireTransportNames, unavailableReason } from '../transports/registry';
import { rng } from './bad-inputs';
import type { TortureContext } from './context';
import { KILL_KINDS, killCase, killSkip } from './kill';
import { malformedSkip, malformedTransport } from './malformed';
import { shmHostileCase, shmHostileSkip } from './shm-hostile';
import { SHM_ATTACKS, shmAttackCase } from './shm-attacks';
import { signalRunCase } from './signal-run';
import { soakCase } from './soak';
import { stallCase } from './stall';
import { strayPeerCases } from './stray-peers';
import { summarize, type TortureCase, type TortureSkip, type TortureSummary } from './types';

/**
 * `bench torture`: faults and hostile input against every transport that can run here, in
 * a fixed order (malformed input, kill -9, stalled consumer, signals to `bench run`, soak),
 * each case checked for the right code, in time, no leak and no silent loss. Every process
 * it starts gets a private TMPDIR, so anything left there was left by the case.
 */
export interface TortureOptions {
  transports?: string[];
  quick: boolean;
  soakSeconds: number;
  seed: number;
  onCase?: (c: TortureCase, index: number) => void;
  onSkip?: (s: TortureSkip) => void;
  log?: (line: string) => void;
}

/** Quick mode (CI): these stand for their group; the full run tries every transport. */
const QUICK = { stall: [['shm', 'block'], ['ws', 'drop']] as const, signal: [['shm', 'SIGINT'], ['unix', 'SIGTERM']] as const, soak: ['ws'] };

export async function runTorture(o: TortureOptions): Promise<TortureSummary> {
  const startedAt = new Date().toISOString();
  const skipped: TortureSkip[] = [];
  const skip = (s: TortureSkip | null): boolean => {
    if (!s) return false;
    skipped.push(s);
    o.onSkip?.(s);
    return true;
  };
  const asked = o.transports ?? wireTransportNames();
  const names: string[] = [];
  for (const t of asked) {
    const why = unavailableReason(t);
    if (!skip(why ? { transport: t, what: 'everything', reason: why } : null)) names.push(t);
  }
  // short names: socket paths (sun_path, 107 bytes) are built under tmpRoot
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'fbt-'));
  const tmpRoot = path.join(workDir, 't');
  mkdirSync(tmpRoot, { mode: 0o700 });
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmpRoot;
  const ctx: TortureContext = { tmpRoot, workDir, rng: rng(o.seed), quick: o.quick, soakSeconds: o.soakSeconds, log: o.log ?? (() => undefined) };
  const cases: TortureCase[] = [];
  const add = (c: TortureCase): void => {
    cases.push(c);
    o.onCase?.(c, cases.length);
  };
  const pick = <T extends readonly unknown[]>(list: readonly T[]): T[] => list.filter((x) => names.includes(x[0] as string)) as T[];
  const strayGrammars = new Set<string>();
  try {
    for (const t of names) {
      if (t === 'shm-copy') skip({ transport: t, what: 'hostile ring writer', reason: 'same ring and consumer code as shm (tried there)' });
      else if (t === 'shm') {
        if (!skip(shmHostileSkip(t))) {
          for (const [seed, where] of o.quick ? [[3, 'records']] : [[1, 'all'], [2, 'all'], [3, 'records'], [4, 'records']]) add(await shmHostileCase(t, seed as number, where as string, ctx));
          for (const attack of o.quick ? (['pads'] as const) : SHM_ATTACKS) add(await shmAttackCase(t, attack, ctx));
        }
      } else skip(malformedSkip(t));
      if (o.quick && t === 'ws-nomask' && names.includes('ws')) {
        skip({ transport: t, what: 'malformed input (--quick)', reason: 'the same receiver code as ws (only the sender differs); tried in the full run' });
        continue;
      }
      for (const c of await malformedTransport(t, ctx)) add(c);
      // --quick: stray peers once per grammar (tcp's receiver is unix's)
      const grammar = getTransport(t).rawInput?.grammar ?? '';
      if (!o.quick || !strayGrammars.has(grammar)) {
        const stray = await strayPeerCases(t, ctx);
        if (stray.length) strayGrammars.add(grammar);
        for (const c of stray) add(c);
      } else skip({ transport: t, what: 'stray peers (--quick)', reason: `tried on another transport of the same grammar (${grammar}); every one in the full run` });
    }
    for (const [i, t] of names.entries()) {
      const kinds = o.quick ? [KILL_KINDS[i % KILL_KINDS.length]] : KILL_KINDS;
      for (const k of kinds) {
        const s = killSkip(t, k);
        if (skip(s)) {
          if (o.quick) add(await killCase(t, 'consumer', ctx));
          continue;
        }
        add(await killCase(t, k, ctx));
      }
    }
    const stalls = o.quick ? pick(QUICK.stall) : names.flatMap((t) => [[t, 'block'], [t, 'drop']] as const);
    for (const [t, policy] of stalls) add(await stallCase(t, policy, ctx));
    const signals = o.quick ? pick(QUICK.signal) : names.flatMap((t) => [[t, 'SIGINT'], [t, 'SIGTERM']] as const);
    for (const [t, sig] of signals) add(await signalRunCase(t, sig, ctx));
    const soaks = o.quick ? QUICK.soak.filter((t) => names.includes(t)) : names;
    for (const t of soaks.length ? soaks : names.slice(0, 1)) add(await soakCase(t, ctx));
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(workDir, { recursive: true, force: true });
  }
  return summarize(cases, skipped, { quick: o.quick, soakSeconds: o.soakSeconds, transports: names, seed: o.seed }, startedAt);
}
