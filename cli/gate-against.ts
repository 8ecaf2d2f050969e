import { writeFileSync } from 'node:fs';
import { ensureWritableDir } from './out-dir';
import * as path from 'node:path';
import { fbError } from '../core/errors';
import { AB_METRICS, confirmAb, GATE_AB_SCHEMA, judgeAll, type AbOutcome } from '../core/gate-ab';
import type { GateSettings } from '../core/gate';
import { packageRoot } from '../core/paths';
import { METHODOLOGY_VERSION } from '../core/result';
import type { ProcessHooks } from '../harness/coordinator';
import { abSamples, failedWindows, measureAb, type AbTree } from '../harness/gate-ab';
import type { RunSettings } from '../harness/runner';
import { methodologyAt, prepareRefTree, resolveCommit, type RefTree } from '../harness/worktree';
import { gitState } from '../measure/provenance';
import { renderAbMarkdown, renderAbTerminal } from '../reporters/gate-ab';
import { clearProgress, info, progress } from './output';

export interface AgainstOptions {
  ref: string;
  settings: RunSettings;
  gate: GateSettings;
  hooks: ProcessHooks | undefined;
  outDir: string;
  json: boolean;
  require: boolean;
}

/** Transports the ref's registry knows (null when it cannot be read: then every transport is tried). */
function refTransports(tree: RefTree): string[] | null {
  try {
    const reg = require(path.join(tree.root, 'dist', 'transports', 'registry.js')) as { transportNames?: () => string[] };
    return reg.transportNames?.() ?? null;
  } catch {
    return null;
  }
}

/**
 * `bench gate --against <ref>`: builds the ref in a temporary worktree, measures it and this tree in
 * the same rounds, and judges the paired changes. Exit 0 pass, 1 regression, 2 could not measure
 * (the ref does not build, the methodology versions differ, a window failed, a --require'd transport
 * cannot run here).
 */
export async function gateAgainst(o: AgainstOptions): Promise<number> {
  if (o.require && o.settings.skipped.length) {
    info(`gate could not measure: ${o.settings.skipped.map((s) => `${s.transport}: ${s.reason}`).join('; ')} (--require)`);
    return 2;
  }
  const mismatch = (theirs: number): number => {
    info(`FB_ERR_METHODOLOGY_MISMATCH: ${o.ref} measures under methodology ${theirs}, this tree under ${METHODOLOGY_VERSION}: every figure would differ for that reason alone, so the gate does not compare them (gate against the baseline instead, or a ref of the same methodology)`);
    return 2;
  };
  const declared = methodologyAt(packageRoot(), resolveCommit(packageRoot(), o.ref));
  if (declared !== METHODOLOGY_VERSION) return mismatch(declared);
  const tree = prepareRefTree(packageRoot(), o.ref, info);
  try {
    if (tree.methodology !== METHODOLOGY_VERSION) return mismatch(tree.methodology);
    const known = refTransports(tree);
    const skipped = [...o.settings.skipped];
    const transports = o.settings.transports.filter((t) => {
      if (!known || known.includes(t)) return true;
      skipped.push({ transport: t, reason: `not in ${o.ref}` });
      return false;
    });
    if (transports.length === 0) throw fbError('FB_ERR_TRANSPORT_UNAVAILABLE', `no transport of this tree exists in ${o.ref}`);
    const base: AbTree = { label: 'base', childEntry: tree.childEntry };
    const head: AbTree = { label: 'head' };
    const rounds = o.gate.againstRounds;
    const measure = async (ts: string[], label: string) => {
      const w = await measureAb({ ...o.settings, transports: ts, rounds }, base, head, o.hooks, (p) =>
        progress(`gate --against ${o.ref} ${label} round ${p.round + 1}/${p.rounds} ${p.transport} (${p.side})`),
      );
      clearProgress();
      return { judged: judgeAll(abSamples(w, AB_METRICS), o.gate.threshold, o.gate.passesTolerance), failures: failedWindows(w) };
    };
    const first = await measure(transports, 'measuring');
    for (const f of first.failures) info(`gate: failed window: ${f}`);
    const git = gitState();
    const outcome: AbOutcome = {
      schema: GATE_AB_SCHEMA,
      base: { ref: o.ref, commit: tree.commit, methodology: tree.methodology },
      head: { commit: git.commit, dirty: git.dirty, methodology: METHODOLOGY_VERSION },
      rounds, scenario: o.settings.scenarios[0]?.name, threshold: o.gate.threshold, passesTolerance: o.gate.passesTolerance,
      rows: first.judged.rows,
      failed: first.judged.rows.filter((r) => r.verdict === 'regression'),
      skipped,
      unmeasured: first.judged.unmeasured,
    };
    if (outcome.failed.length && o.gate.confirm) {
      const again = [...new Set(outcome.failed.map((r) => r.transport))];
      info(`gate: ${outcome.failed.length} regression(s) in ${again.join(', ')}; confirming with ${rounds} more paired rounds`);
      const second = await measure(again, 'confirming');
      const c = confirmAb(outcome.rows, second.judged.rows);
      Object.assign(outcome, c);
      outcome.unmeasured.push(...second.judged.unmeasured);
    }
    const md = renderAbMarkdown(outcome);
    ensureWritableDir(o.outDir);
    writeFileSync(path.join(o.outDir, 'gate.md'), md);
    writeFileSync(path.join(o.outDir, 'gate.json'), JSON.stringify(outcome, null, 2) + '\n');
    if (process.env.GITHUB_STEP_SUMMARY) writeFileSync(process.env.GITHUB_STEP_SUMMARY, md, { flag: 'a' });
    info(renderAbTerminal(outcome));
    if (o.json) process.stdout.write(JSON.stringify(outcome, null, 2) + '\n');
    if (outcome.failed.length) return 1;
    return outcome.unmeasured.length ? 2 : 0;
  } finally {
    tree.remove();
  }
}
