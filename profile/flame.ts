import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fbError } from '../core/errors';

/**
 * Helpers for `bench run --flame`: wrap a node child in `perf record` (software cpu-clock event: these VMs
 * have no hardware counters), fold `perf script` stacks into "root;...;leaf count" lines, render them as a
 * self-contained HTML flame graph, and remove the perf data and the `/tmp/perf-<pid>.map` files V8 writes.
 *
 * Typical use:
 *   const why = perfAvailable(); if (why) skip(why);
 *   const w = perfWrap(process.execPath, [childJs, ...], dataFile); spawn(w.cmd, w.args) ... wait;
 *   const f = await foldPerfDataWithInfo(dataFile); write(renderFlameHtml(f.folded, title));
 *   cleanupPerfArtifacts(dataFile, f.pids);
 */

export const PERF_FREQUENCY_HZ = 999;
export const NODE_PERF_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack'];

let availability: string | null | undefined;

/** null when `perf record -e cpu-clock` works here, else why not (with the fix). Cached. */
export function perfAvailable(): string | null {
  if (availability !== undefined) return availability;
  const v = spawnSync('perf', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (v.error) {
    availability = `perf not found (${(v.error as NodeJS.ErrnoException).code ?? v.error.message}); install it with: apt-get install -y linux-perf`;
    return availability;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fb-perf-check-'));
  try {
    const r = spawnSync('perf', ['record', '-q', '-e', 'cpu-clock', '-o', join(dir, 'check.data'), '--', 'true'], { encoding: 'utf8', timeout: 20_000 });
    if (r.error || r.status !== 0) {
      const msg = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(0, 3).join(' ');
      availability = `perf record -e cpu-clock failed: ${msg} (check /proc/sys/kernel/perf_event_paranoid <= 2)`;
    } else {
      availability = null;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return availability;
}

function isNode(cmd: string): boolean {
  return cmd === process.execPath || /^node(js)?(\.exe)?$/.test(basename(cmd));
}

/**
 * The command line that runs `cmd args` under `perf record -e cpu-clock -F 999 -g -o outFile`.
 * A node child also gets `--perf-basic-prof --interpreted-frames-native-stack` so JS frames have names.
 */
export function perfWrap(cmd: string, args: string[], outFile: string, ctlFifo?: string): { cmd: string; args: string[] } {
  const child = isNode(cmd) ? [cmd, ...NODE_PERF_FLAGS, ...args] : [cmd, ...args];
  // with a control FIFO, sampling starts off and follows 'enable' / 'disable' written to it
  const control = ctlFifo ? ['-D', '-1', '--control', `fifo:${ctlFifo}`] : [];
  return { cmd: 'perf', args: ['record', '-q', '-e', 'cpu-clock', '-F', String(PERF_FREQUENCY_HZ), '-g', ...control, '-o', outFile, '--', ...child] };
}

export interface FoldResult {
  /** "thread;outer;...;leaf count" lines, most samples first. */
  folded: string;
  samples: number;
  /** Process ids seen in the samples (their /tmp/perf-<pid>.map files can be removed once folded). */
  pids: number[];
}

/** `node  9724   731.407403:    1001001 cpu-clock: ` (also with `/tid` and `[cpu]`). */
const HEADER_RE = /^(.+?)\s+(\d+)(?:\/(\d+))?\s+(?:\[\d+\]\s+)?\d+\.\d+:\s/;
/** `\t 16d807 __memmove_avx512_unaligned_erms+0x7 (/usr/lib/x86_64-linux-gnu/libc.so.6)` */
const FRAME_RE = /^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/;

/** One frame name: offsets dropped, kernel frames suffixed `_[k]`, unknown frames named by their object. */
export function frameName(sym: string, dso: string): string {
  let name = sym.replace(/\+0x[0-9a-f]+$/i, '');
  if (name === '[unknown]' || name === '') name = dso === '' || dso === '[unknown]' ? '[unknown]' : `[${basename(dso)}]`;
  if (dso === '[kernel.kallsyms]' || dso.startsWith('[kernel')) name += '_[k]';
  return name.replace(/;/g, ':');
}

/** Folds `perf script` text (one stack per sample, leaf first) into counts; exported for tests. */
export class StackFolder {
  private readonly counts = new Map<string, number>();
  private readonly pidSet = new Set<number>();
  private thread: string | null = null;
  private frames: string[] = [];
  samples = 0;

  line(l: string): void {
    if (l.trim() === '') {
      this.flush();
      return;
    }
    if (l.startsWith('#')) return;
    const f = FRAME_RE.exec(l);
    if (f && this.thread !== null && /^\s/.test(l)) {
      this.frames.push(frameName(f[1]!, f[2]!));
      const m = /perf-(\d+)\.map$/.exec(f[2]!);
      if (m) this.pidSet.add(Number(m[1]));
      return;
    }
    const h = HEADER_RE.exec(l);
    if (h) {
      this.flush();
      this.thread = h[1]!.trim().replace(/;/g, ':');
      this.pidSet.add(Number(h[2]));
    }
  }

  flush(): void {
    if (this.thread !== null) {
      const key = [this.thread, ...this.frames.reverse()].join(';');
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      this.samples++;
    }
    this.thread = null;
    this.frames = [];
  }

  result(): FoldResult {
    this.flush();
    const folded = [...this.counts.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join('\n');
    return { folded: folded ? folded + '\n' : '', samples: this.samples, pids: [...this.pidSet].sort((a, b) => a - b) };
  }
}

/** Runs `perf script -i file` and folds its stacks (streamed: perf script output can be hundreds of MB). */
export function foldPerfDataWithInfo(perfDataFile: string): Promise<FoldResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('perf', ['script', '-i', perfDataFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const folder = new StackFolder();
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4000) stderr += d;
    });
    const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
    rl.on('line', (l) => folder.line(l));
    let closed = false;
    const done = (code: number | null) => {
      if (closed) return;
      closed = true;
      if (code !== 0) {
        reject(fbError('FB_ERR_INTERNAL', `perf script -i ${perfDataFile} failed (exit ${code}): ${stderr.trim().split('\n').slice(0, 3).join(' ')}`));
        return;
      }
      resolve(folder.result());
    };
    child.on('error', (e) => {
      closed = true;
      reject(fbError('FB_ERR_INTERNAL', `cannot run perf script: ${e.message}`));
    });
    // 'close' fires after stdout ended, so every line has been read.
    child.on('close', (code) => done(code));
  });
}

/** Removes the perf data file (and perf's `.old` backup) and V8's `/tmp/perf-<pid>.map` for each pid. */
export function cleanupPerfArtifacts(perfDataFile: string, pids: number[]): void {
  rmSync(perfDataFile, { force: true });
  rmSync(`${perfDataFile}.old`, { force: true });
  for (const pid of pids) {
    if (Number.isInteger(pid) && pid > 0) rmSync(join('/tmp', `perf-${pid}.map`), { force: true });
  }
}

/**
 * File name of a case's flame graph under `<run dir>/flame/`: `ws_realtime_i420_1920x1080.producer.html` for case key
 * `ws/realtime/i420/1920x1080` and side `producer`. `bench report` links these from the HTML report.
 */
export function flameFileName(caseKey: string, side: string): string {
  return `${caseKey.replace(/[/\\]/g, '_')}.${side.replace(/[^A-Za-z0-9-]/g, '_')}.html`;
}

/** Inverse of flameFileName: `ws/realtime/i420/1920x1080 producer`. */
export function flameLabelFromFile(file: string): string {
  const stem = basename(file).replace(/\.html?$/i, '');
  const dot = stem.lastIndexOf('.');
  const key = (dot > 0 ? stem.slice(0, dot) : stem).replace(/_/g, '/');
  return dot > 0 ? `${key} ${stem.slice(dot + 1)}` : key;
}
