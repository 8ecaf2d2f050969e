import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fbError, isFbError, type ErrorCode, type FbError } from '../core/errors';
import { packageRoot } from '../core/paths';
import { parseFormat, parseResolution } from '../core/spec';
import { loadModuleFile } from '../core/ts-register';
import { parseScenarios } from '../scenarios';
import { checkTransportNames, isTransportModulePath } from '../transports/registry';
import { FIELDS, fieldProblems, itemSchema, schemaDefaults, type BenchConfig, type SettingKey } from './settings-schema';

export type { BenchConfig, SettingKey } from './settings-schema';

/**
 * What `bench run` (and `bench gate`) do when no option says otherwise. The settings' type, defaults and
 * checks are the one schema in settings-schema.ts; `bench.config.ts` at the project root overrides
 * the defaults. A config file (.ts, .js or .json) is loaded by transpiling only: its values are checked
 * against the schema, and type-checking it stays in `npm run typecheck`.
 */
export const BUILTIN_CONFIG: BenchConfig = Object.freeze(schemaDefaults()) as BenchConfig;

/** Typed helper for bench.config.ts: returns its argument unchanged. */
export function defineConfig(config: Partial<BenchConfig>): Partial<BenchConfig> {
  return config;
}

/** The config file used when --config is not given: ./bench.config.ts, else the package's. */
export function defaultConfigPath(): string | null {
  for (const dir of [process.cwd(), packageRoot()]) {
    const p = path.join(dir, 'bench.config.ts');
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Checks one setting: the schema, then what only code knows (transport, scenario and format names,
 * the resolution). Throws the FbError of the first problem; `name` is how the message names it.
 */
function checkSetting(key: SettingKey, given: unknown, name: string): void {
  // format names are case-insensitive ('I420'), and a bad one keeps its own code (FB_ERR_BAD_FORMAT)
  const value = key === 'formats' && Array.isArray(given) && given.every((f) => typeof f === 'string') ? given.map(parseFormat) : given;
  const problems = fieldProblems(key, value);
  if (problems.length) {
    const type = (itemSchema(key) as { type?: string }).type;
    const code: ErrorCode = type === 'number' || type === 'integer' ? 'FB_ERR_BAD_NUMBER' : 'FB_ERR_USAGE';
    throw fbError(code, `${name} ${problems.join('; ')}`);
  }
  if (key === 'transports') checkTransportNames(value as string[]);
  else if (key === 'scenarios') parseScenarios((value as string[]).join(','));
  else if (key === 'resolution') for (const r of Array.isArray(value) ? value : [value]) parseResolution(r as string);
}

/**
 * Checks settings given on the command line (keyed like the config, `flags` maps a key to its
 * option name), before any config file loads. Keeps each problem's own code (FB_ERR_BAD_NUMBER, ...).
 */
export function checkFlagSettings(given: Partial<Record<SettingKey, unknown>>, flags: Partial<Record<SettingKey, string>>): void {
  for (const [k, v] of Object.entries(given) as Array<[SettingKey, unknown]>) {
    if (v !== undefined) checkSetting(k, v, `--${flags[k] ?? k}`);
  }
}

/** Paths of transport modules in a config are relative to the config file. */
function resolveModulePaths(transports: string[], dir: string): string[] {
  return transports.map((t) => (isTransportModulePath(t) ? path.resolve(dir, t) : t));
}

/** A config file's value: its default export (TS/ESM-style) or its module.exports. */
function readConfigFile(abs: string, file: string): unknown {
  try {
    if (abs.endsWith('.json')) return JSON.parse(readFileSync(abs, 'utf8'));
    const exp = loadModuleFile(abs) as { default?: unknown };
    return exp && typeof exp === 'object' && 'default' in exp ? exp.default : exp;
  } catch (e) {
    throw fbError('FB_ERR_CONFIG', `cannot load ${file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/**
 * Loads a config file (.ts transpiled, never type-checked; .js; .json), checks every key against the
 * schema (FB_ERR_CONFIG naming the file and the key) and returns the full config (defaults under it).
 */
export function loadConfig(file: string | null): BenchConfig {
  if (file === null) return structuredClone(BUILTIN_CONFIG);
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw fbError('FB_ERR_CONFIG', `config file not found: ${file}`);
  const loaded = readConfigFile(abs, file);
  if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) {
    throw fbError('FB_ERR_CONFIG', `${file} must export a config object (export default defineConfig({...}))`);
  }
  const where = path.basename(file);
  const out: Record<string, unknown> = structuredClone(BUILTIN_CONFIG);
  for (const [k, v] of Object.entries(loaded)) {
    if (!(k in FIELDS)) {
      const near = Object.keys(FIELDS).find((f) => f.toLowerCase().startsWith(k.toLowerCase().slice(0, 4)));
      throw fbError('FB_ERR_CONFIG', `${where}: unknown setting '${k}'${near ? ` (did you mean '${near}'?)` : ''}`);
    }
    if (v === undefined) continue;
    const value = k === 'transports' && Array.isArray(v) && v.every((t) => typeof t === 'string') ? resolveModulePaths(v, path.dirname(abs)) : v;
    try {
      checkSetting(k as SettingKey, value, `${where}: ${k}`);
    } catch (e) {
      if (!isFbError(e)) throw e;
      const msg = (e as FbError).message;
      throw fbError('FB_ERR_CONFIG', msg.startsWith(`${where}: ${k}`) ? msg : `${where}: ${k}: ${msg}`);
    }
    out[k] = value;
  }
  return out as BenchConfig;
}
