import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { caseKey } from '../reporters/cost';
import type { ProcessHooks } from './coordinator';
import { cleanupPerfArtifacts, flameFileName, foldPerfDataWithInfo, perfAvailable, perfWrap, renderFlameHtml } from './flame';

/**
 * `bench run --flame`: every producer and consumer runs under `perf record -e cpu-clock -g`
 * with V8's perf map, so native frames (libc memmove) show under the JS frames that called
 * them. After the case the samples are folded and written as
 * `<out>/flame/<case>.<side>.html`; perf data and /tmp/perf-<pid>.map files are removed.
 * Each perf data file lives in its own fresh 0700 directory (mkdtemp), never under a guessable
 * name in the shared temp directory (perf would follow a planted symlink when it writes).
 */
export function flameHooks(outDir: string): { hooks: ProcessHooks | null; note: string | null; written: string[] } {
  const reason = perfAvailable();
  const written: string[] = [];
  if (reason) return { hooks: null, note: `flame graphs off: ${reason}`, written };
  const dir = path.join(outDir, 'flame');
  mkdirSync(dir, { recursive: true });
  return {
    note: null,
    written,
    hooks: {
      envFor(label, spec) {
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'framebench-perf-'));
        const data = path.join(dataDir, 'perf.data');
        const w = perfWrap(process.execPath, [], data);
        // fork(module) runs `execPath ...execArgv module`: perf record ... -- node <flags> child.js
        const side = label.startsWith('producer') ? label.replace(' ', '') : 'consumer';
        const [wsz, hsz] = spec.sizes[0];
        const key = caseKey({ transport: spec.transport, scenario: spec.scenario, format: spec.format, width: wsz, height: hsz });
        return {
          env: {},
          execPath: w.cmd,
          execArgv: w.args,
          cleanup: async () => {
            try {
              const f = await foldPerfDataWithInfo(data);
              const file = path.join(dir, flameFileName(key, side));
              writeFileSync(file, renderFlameHtml(f.folded, `${key} ${side} (${f.samples} samples, perf cpu-clock)`));
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
