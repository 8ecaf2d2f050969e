import { readFileSync } from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';

/**
 * The one TypeScript-on-the-fly loader: transpiles (never type-checks) a .ts file to CommonJS.
 * Used to load a user's bench.config.ts and, in tests, the TypeScript sources themselves. The
 * `typescript` package is required lazily, so nothing pays for it unless a .ts file is loaded.
 */
type TS = typeof import('typescript');
type Loader = (m: { _compile(code: string, filename: string): void }, filename: string) => void;

function ts(): TS {
  return require('typescript') as TS;
}

/** TypeScript source to CommonJS JavaScript (no type check). */
export function transpileTs(code: string, fileName: string): string {
  const t = ts();
  return t.transpileModule(code, {
    fileName,
    compilerOptions: { module: t.ModuleKind.CommonJS, target: t.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  }).outputText;
}

/** Makes Node's require() load .ts files by transpiling them. Idempotent. */
export function registerTypeScript(): void {
  const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  if (extensions['.ts']) return;
  extensions['.ts'] = (m, filename) => m._compile(transpileTs(readFileSync(filename, 'utf8'), filename), filename);
}

/** Loads a .ts/.js file as a CommonJS module (resolving its own imports from its folder) and returns its exports. */
export function loadModuleFile(abs: string): unknown {
  let code = readFileSync(abs, 'utf8');
  if (abs.endsWith('.ts')) code = transpileTs(code, abs);
  const m = new Module(abs, module);
  m.filename = abs;
  m.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(path.dirname(abs));
  (m as unknown as { _compile(c: string, f: string): void })._compile(code, abs);
  return m.exports;
}
