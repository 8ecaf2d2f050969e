import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { CostModelConfig } from '../core/cost';
import { fbError } from '../core/errors';
import { fromRoot, packageRoot } from '../core/paths';
import { loadModuleFile } from '../core/ts-register';
import type { GateSettings } from '../core/gate';

/**
 * What `bench run` (and `bench gate`) do when no option says otherwise. `bench.config.ts`
 * at the project root holds the defaults; edit it and the next `bench run` uses it (the
 * file is compiled and type-checked on load, no rebuild needed).
 */
export interface BenchConfig {
  /** Transports of the default matrix ('all' = every registered one that can run here). */
  transports: string[];
  scenarios: string[];
  formats: Array<'i420' | 'rgba'>;
  /** '1080p', '720p', '4k', '360p' or 'WxH'. */
  resolution: string;
  fps: number;
  /** Measurement window per case and round, seconds. */
  durationS: number;
  /** Interleaved rounds: every case is measured once per round; figures are medians over rounds with intervals. */
  rounds: number;
  /** Warm-up before the window, seconds (measured separately, never counted): at least this long... */
  warmupS: number;
  /**
   * ...and until the case's processes stop faulting in fresh memory (a young process grows its
   * heaps for seconds; measure/steady.ts), at most this long. 0: the warm-up is warmupS, fixed.
   */
  warmupMaxS?: number;
  /** Producers of the multi-producer scenario. */
  producers: number;
  /**
   * The consumer's check after header and order: 'checksum' reads every payload byte against the
   * checksum in the header (docs/checksum.md); 'sample' one word per 4 KiB page; 'full' compares
   * every byte with the source's data.
   */
  verify: 'checksum' | 'sample' | 'full';
  /** 'synthetic' or 'fixture:<name>'. */
  source: string;
  /** Output folder of `bench run` (results.json goes there). */
  out: string;
  /** Count memcpy/memmove in every producer and consumer (LD_PRELOAD interposer). */
  copyAccounting: boolean;
  /** Backpressure policy when the consumer falls behind. */
  policy: 'block' | 'drop';
  /** Per-transport knobs, e.g. { ws: { fragmentBytes: 131000 }, shm: { ringBytes: 67108864 } }. */
  transportOptions: Record<string, Record<string, unknown>>;
  /** Fleet cost model (see core/cost.ts; unset fields keep DEFAULT_COST_MODEL). */
  cost?: Partial<CostModelConfig>;
  /** Regression gate matrix and thresholds (see `bench gate`; unset fields keep DEFAULT_GATE). */
  gate?: Partial<GateSettings>;
}

export const BUILTIN_CONFIG: BenchConfig = {
  transports: ['ws', 'unix', 'tcp', 'shm'],
  scenarios: ['realtime', 'saturate'],
  formats: ['i420', 'rgba'],
  resolution: '1080p',
  fps: 30,
  durationS: 1.2,
  rounds: 5,
  warmupS: 0.4,
  warmupMaxS: 3,
  producers: 4,
  verify: 'checksum',
  source: 'synthetic',
  out: 'reports/latest',
  copyAccounting: true,
  policy: 'block',
  transportOptions: { ws: { fragmentBytes: 131000 }, 'ws-nomask': { fragmentBytes: 131000 } },
};

/** Typed helper for bench.config.ts: returns its argument unchanged. */
export function defineConfig(config: Partial<BenchConfig>): Partial<BenchConfig> {
  return config;
}


/** The config file used when --config is not given: ./bench.config.ts, else the project's. */
export function defaultConfigPath(): string | null {
  for (const dir of [process.cwd(), packageRoot()]) {
    const p = path.join(dir, 'bench.config.ts');
    if (existsSync(p)) return p;
  }
  return null;
}

type TS = typeof import('typescript');

function typeCheck(ts: TS, file: string): void {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    skipLibCheck: true,
    typeRoots: [fromRoot('node_modules', '@types')],
  });
  const diags = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (diags.length > 0) {
    const d = diags[0];
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : null;
    const msg = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    throw fbError('FB_ERR_CONFIG', `${path.basename(d.file?.fileName ?? file)}${where ? `:${where.line + 1}:${where.character + 1}` : ''}: ${msg}`);
  }
}

/**
 * Loads a config file (.ts type-checked then compiled in memory; .js/.json as is) and
 * returns the full config (built-in defaults under it).
 */
export function loadConfig(file: string | null): BenchConfig {
  if (file === null) return { ...BUILTIN_CONFIG };
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw fbError('FB_ERR_CONFIG', `config file not found: ${file}`);
  let loaded: unknown;
  try {
    if (abs.endsWith('.json')) {
      loaded = JSON.parse(readFileSync(abs, 'utf8'));
    } else {
      if (abs.endsWith('.ts')) typeCheck(require('typescript') as TS, abs);
      const exp = loadModuleFile(abs) as { default?: unknown };
      loaded = exp && typeof exp === 'object' && 'default' in exp ? exp.default : exp;
    }
  } catch (e) {
    if (e instanceof Error && (e as { code?: string }).code === 'FB_ERR_CONFIG') throw e;
    throw fbError('FB_ERR_CONFIG', `cannot load ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) {
    throw fbError('FB_ERR_CONFIG', `${file} must export a config object (export default defineConfig({...}))`);
  }
  const known = new Set(Object.keys(BUILTIN_CONFIG).concat(['cost', 'gate']));
  for (const k of Object.keys(loaded)) {
    if (!known.has(k)) throw fbError('FB_ERR_CONFIG', `${file}: unknown setting '${k}'`);
  }
  return { ...BUILTIN_CONFIG, ...(loaded as Partial<BenchConfig>) };
}
