import { fbError } from '../core/errors';
import type { RunResult } from '../core/result';
import { BUILTIN_CONFIG, checkFlagSettings, loadConfig, type BenchConfig, type SettingKey } from '../harness/config';
import { copyAccountingHooks } from '../harness/copy-hooks';
import { resolveSettings, runBench } from '../harness/runner';
import { checkAxes, parseAxes } from '../harness/plan';
import { FIELDS } from '../harness/settings-schema';
import { ensureWritableDir } from './out-dir';
import { writeRunFiles, type RunFiles } from './run-files';

/** Settings of one programmatic run: any setting (defaults merged), plus where a config file is. */
export interface RunOptions extends Partial<BenchConfig> {
  /** A config file under the options (default: none, only the built-in defaults). */
  config?: string | null;
  /** Stops the run between cases; the cases measured so far are kept. */
  signal?: AbortSignal;
  /** Called after every case window. */
  onCaseEnd?: (index: number, total: number, result: RunResult['results'][number]) => void;
}

/** The full settings a run would use: the built-in defaults, a config file's, then `opts` (checked). */
export function settingsWith(opts: Partial<BenchConfig> & { config?: string | null } = {}): BenchConfig {
  const { config, ...given } = opts;
  const keys = Object.keys(given).filter((k) => k in FIELDS) as SettingKey[];
  const unknown = Object.keys(given).filter((k) => !(k in FIELDS));
  if (unknown.length) throw fbError('FB_ERR_CONFIG', `unknown setting '${unknown[0]}' (settings: ${Object.keys(FIELDS).join(', ')})`);
  checkFlagSettings(Object.fromEntries(keys.map((k) => [k, given[k]])), {});
  const base = config ? loadConfig(config) : structuredClone(BUILTIN_CONFIG);
  return { ...base, ...Object.fromEntries(keys.map((k) => [k, given[k]])) } as BenchConfig;
}

/**
 * Runs the matrix and writes the same files as `framebench run` (results.json, index.html, summary.md in
 * `out`); returns the result and the paths. Nothing is printed.
 */
export async function run(opts: RunOptions = {}): Promise<{ run: RunResult; files: RunFiles }> {
  const { signal, onCaseEnd, ...rest } = opts;
  const s = settingsWith(rest);
  // a list in resolution, fps or producers is a sweep (docs/sweeps.md)
  const axes = parseAxes({ resolution: s.resolution, fps: s.fps, producers: s.producers });
  const raw = { ...s, resolution: axes.resolutions[0], fps: axes.fps[0], producers: axes.producers[0], transportOptions: s.transportOptions };
  checkAxes(raw, axes, resolveSettings);
  const settings = { ...resolveSettings(raw), axes };
  const out = ensureWritableDir(s.out, 'out');
  const copy = copyAccountingHooks(settings.copyAccounting);
  const result = await runBench(settings, {
    abort: signal,
    processHooks: copy.hooks ?? undefined,
    onCaseEnd: onCaseEnd ? (i, n, r) => onCaseEnd(i, n, r) : undefined,
  });
  result.settings.copyAccounting = settings.copyAccounting && copy.hooks !== null;
  return { run: result, files: writeRunFiles(result, out, s.cost) };
}
