import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The fallback profiler for `--flame` where Linux perf is unavailable: Node's own V8 sampling
 * profiler (the one behind `--cpu-prof`; profile/profile-window.ts runs it over the measured window). It names JavaScript and V8 builtins; native code (libc memmove,
 * the kernel) is collapsed into "(program)" and "(garbage collector)". Folds a .cpuprofile
 * into "outer;...;leaf count" lines, the format renderFlameHtml draws.
 */
interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples?: number[];
}

function frameName(n: CpuProfileNode): string {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  const file = f.url ? path.basename(f.url.replace(/^file:\/\//, '')) : '';
  return (file ? `${name} ${file}:${f.lineNumber + 1}` : name).replace(/;/g, ',');
}

/** Folded stacks of one .cpuprofile, most samples first, and its sample count. */
export function foldCpuProfile(p: CpuProfile): { folded: string; samples: number } {
  const parent = new Map<number, number>();
  const byId = new Map<number, CpuProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stackOf = new Map<number, string>();
  const stack = (id: number): string => {
    const cached = stackOf.get(id);
    if (cached !== undefined) return cached;
    const frames: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n && n.callFrame.functionName !== '(root)') frames.push(frameName(n));
    }
    const s = frames.reverse().join(';');
    stackOf.set(id, s);
    return s;
  };
  const counts = new Map<string, number>();
  for (const id of p.samples ?? []) {
    const s = stack(id);
    if (s) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const lines = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`);
  return { folded: lines.join('\n') + (lines.length ? '\n' : ''), samples: p.samples?.length ?? 0 };
}

/** Folds every .cpuprofile left in `dir` (one per profiled thread: producer threads share a process) into one graph. */
export function foldCpuProfileDir(dir: string): { folded: string; samples: number } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir} (the window never closed in that process)`);
  const counts = new Map<string, number>();
  let samples = 0;
  for (const f of files) {
    const one = foldCpuProfile(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile);
    samples += one.samples;
    for (const line of one.folded.split('\n')) {
      const cut = line.lastIndexOf(' ');
      if (cut > 0) counts.set(line.slice(0, cut), (counts.get(line.slice(0, cut)) ?? 0) + Number(line.slice(cut + 1)));
    }
  }
  const lines = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`);
  return { folded: lines.join('\n') + (lines.length ? '\n' : ''), samples };
}
