import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { caseKey } from '../core/cost';
import type { ProcessHooks } from './coordinator';
import { PERF_CTL_ENV, V8_PROF_DIR_ENV } from '../profile/profile-window';
import { foldCpuProfileDir } from '../profile/v8-profile';
import { cleanupPerfArtifacts, flameFileName, foldPerfDataWithInfo, perfAvailable, perfWrap } from '../profile/flame';

/**
 * `bench run --flame`: every producer and consumer runs under `perf record -e cpu-clock -g`
 * with V8's perf map, so native frames (libc memmove) show under the JS frames that called
 * them. Sampling starts off and follows the measured window (perf's control FIFO, driven by
 * MeasureWindow through profile/profile-window.ts). After the case the samples are folded and written as
 * `<out>/flame/<case>.<side>.html`; perf data and /tmp/perf-<pid>.map files are removed.
 * Each perf data file lives in its own fresh 0700 directory (mkdtemp), never under a guessable
 * name in the shared temp directory (perf would follow a planted symlink when it writes).
 */
/** Turns folded stacks into a flame graph page (reporters/html-flame's renderFlameHtml; passed in by the CLI). */
export type FlameRenderer = (folded: string, title: string) => string;

export function flameHooks(outDir: string, renderFlameHtml: FlameRenderer): { hooks: ProcessHooks | null; note: string | null; written: string[] } {
  const reason = process.env.FRAMEBENCH_FLAME_PROFILER === 'v8' ? 'FRAMEBENCH_FLAME_PROFILER=v8' : perfAvailable();
  const written: string[] = [];
  const dir = path.join(outDir, 'flame');
  mkdirSync(dir, { recursive: true });
  if (reason) return v8FlameHooks(dir, reason, written, renderFlameHtml);
  return {
    note: null,
    written,
    hooks: {
      envFor(label, spec) {
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'framebench-perf-'));
        const data = path.join(dataDir, 'perf.data');
        // sampling follows the measured window (profile/profile-window.ts); a FIFO that cannot be
        // made leaves the whole process life sampled, and the title says which
        const ctl = makeFifo(path.join(dataDir, 'ctl'));
        const w = perfWrap(process.execPath, [], data, ctl ?? undefined);
        const span = ctl ? 'measured window' : 'whole process life';
        // fork(module) runs `execPath ...execArgv module`: perf record ... -- node <flags> child.js
        const side = label.startsWith('producer') ? label.replace(' ', '') : 'consumer';
        const [wsz, hsz] = spec.sizes[0];
        const key = caseKey({ transport: spec.transport, scenario: spec.scenario, format: spec.format, width: wsz, height: hsz });
        return {
          env: ctl ? ({ [PERF_CTL_ENV]: ctl } as Record<string, string>) : {},
          execPath: w.cmd,
          execArgv: w.args,
          cleanup: async () => {
            try {
              const f = await foldPerfDataWithInfo(data);
              const file = path.join(dir, flameFileName(key, side));
              writeFileSync(file, renderFlameHtml(f.folded, `${key} ${side} (${f.samples} samples, perf cpu-clock, ${span})`));
              written.push(file);
              cleanupPerfArtifacts(data, f.pids);
            } catch {
              cleanupPerfArtifacts(data, []);
            } finally {
              rmSync(dataDir, { recursive: true, force: true });
            }
          },
        };
      },
    },
  };
}

function caseSide(label: string, spec: Parameters<ProcessHooks['envFor']>[1]): { key: string; side: string } {
  const side = label.startsWith('producer') ? label.replace(' ', '') : 'consumer';
  const [w, h] = spec.sizes[0];
  return { key: caseKey({ transport: spec.transport, scenario: spec.scenario, format: spec.format, width: w, height: h }), side };
}

/**
 * Without perf: V8's own sampling profiler in every child, started and stopped by the measured
 * window through node:inspector (the profiler --cpu-prof uses). JavaScript frames only — native
 * copies show as "(program)" — and the graph's title and the run's note say so.
 */
function v8FlameHooks(dir: string, why: string, written: string[], renderFlameHtml: FlameRenderer): { hooks: ProcessHooks; note: string; written: string[] } {
  return {
    note: `flame graphs with V8's sampling profiler instead of perf (${why}): JavaScript frames only, native code such as memmove collapsed into "(program)"`,
    written,
    hooks: {
      envFor(label, spec) {
        const profDir = mkdtempSync(path.join(os.tmpdir(), 'framebench-cpuprof-'));
        const { key, side } = caseSide(label, spec);
        return {
          // the child's measured window starts and stops V8's profiler (profile/profile-window.ts)
          env: { [V8_PROF_DIR_ENV]: profDir } as Record<string, string>,
          cleanup: () => {
            try {
              const f = foldCpuProfileDir(profDir);
              const file = path.join(dir, flameFileName(key, side));
              writeFileSync(file, renderFlameHtml(f.folded, `${key} ${side} (${f.samples} samples, V8 profiler, measured window: perf unavailable, native frames collapsed)`));
              written.push(file);
            } catch {
              /* a process killed mid-run leaves no profile */
            } finally {
              rmSync(profDir, { recursive: true, force: true });
            }
          },
        };
      },
    },
  };
}

/** mkfifo -m 600 (Node has no mkfifo); null when it fails. */
function makeFifo(p: string): string | null {
  try {
    execFileSync('mkfifo', ['-m', '600', p], { stdio: 'ignore' });
    return p;
  } catch {
    return null;
  }
}
