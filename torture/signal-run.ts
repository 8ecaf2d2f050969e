import { spawn } from 'node:child_process';
import { fromRoot } from '../core/paths';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TortureContext } from './context';
import { LeakWatch } from './leaks';
import { descendants } from './procs';
import type { TortureCase } from './types';

/**
 * SIGINT / SIGTERM to `bench run` itself (the real CLI, `node bin/bench.js run`), sent
 * while its second case runs (seen as a second run directory appearing in its private
 * TMPDIR). It must exit 130 within EXIT_MS, write results.json with `complete: false`
 * keeping the first case measured, and leave no process, run directory, socket or segment.
 */
const BIN = fromRoot('bin', 'bench.js');
const EXIT_MS = 15_000;
const START_MS = 90_000;

interface RunResultLike {
  complete?: boolean;
  results?: Array<{ status: string }>;
}

export async function signalRunCase(t: string, sig: 'SIGINT' | 'SIGTERM', ctx: TortureContext): Promise<TortureCase> {
  const out = path.join(ctx.workDir, `signal-${t}-${sig}`);
  mkdirSync(out, { recursive: true });
  const watch = new LeakWatch(ctx.tmpRoot);
  const args = [BIN, 'run', '--rounds', '1', '--transport', t, '--scenario', 'realtime,saturate', '--format', 'i420', '--resolution', '720p',
    '--duration', '1', '--warmup', '0.2', '--no-copy-accounting', '--out', out];
  const child = spawn(process.execPath, args, { env: { ...process.env, TMPDIR: ctx.tmpRoot }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, s) => r({ code, signal: s })));
  let done: { code: number | null; signal: string | null } | null = null;
  void exited.then((e) => (done = e));
  watch.note([child.pid as number]);

  // Wait for the second case: a second distinct run directory in the private TMPDIR.
  const seen = new Set<string>();
  const t0 = Date.now();
  while (!done && Date.now() - t0 < START_MS) {
    for (const e of readdirSync(ctx.tmpRoot)) if (e.startsWith('framebench-run-')) seen.add(e);
    if (seen.size >= 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  let signalledAt = 0;
  const problems: string[] = [];
  if (!done && seen.size >= 2) {
    await new Promise((r) => setTimeout(r, 150 + Math.round(ctx.rng() * 400)));
    watch.note(descendants(child.pid as number));
    signalledAt = Date.now();
    child.kill(sig);
  } else {
    problems.push(done ? `bench run ended before the second case (${JSON.stringify(done)})` : 'the second case never started');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_MS);
  const end = await exited;
  clearTimeout(timer);
  const exitMs = signalledAt ? Date.now() - signalledAt : -1;
  const got = end.signal ? `killed by ${end.signal}` : `exit ${end.code}`;
  if (end.code !== 130) problems.push(`expected exit 130, got ${got}${exitMs > EXIT_MS ? ' (hung: killed)' : ''}`);
  const file = path.join(out, 'results.json');
  let kept = 0;
  if (!existsSync(file)) problems.push('no results.json written');
  else {
    const r = JSON.parse(readFileSync(file, 'utf8')) as RunResultLike;
    if (r.complete !== false) problems.push(`results.json complete=${String(r.complete)}`);
    kept = (r.results ?? []).filter((c) => c.status === 'ok').length;
    if (kept < 1) problems.push('the case measured before the signal was not kept');
  }
  const leaks = await watch.check();
  const lastErr = stderr.trim().split('\n').filter((l) => /FB_ERR|Error/.test(l)).slice(-1)[0];
  return {
    group: 'signal',
    name: `${sig} to bench run`,
    transport: t,
    expected: ['exit 130'],
    got,
    ok: problems.length === 0 && leaks.length === 0,
    framesLostUnreported: 0,
    leaks,
    detail: `${sig} during case 2: ${got} after ${exitMs} ms; ${kept} measured case(s) kept${problems.length ? `; ${problems.join('; ')}` : ''}${lastErr && problems.length ? `; stderr: ${lastErr.slice(0, 160)}` : ''}`,
    figures: { exitMs, casesKept: kept },
  };
}
