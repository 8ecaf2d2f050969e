import * as fs from 'node:fs';
import Module from 'node:module';
import ts from 'typescript';

/**
 * transports/registry.ts loads adapters lazily with `require('./ws')`, which finds the
 * compiled .js in dist/ but not a .ts source under vitest (vitest transforms imports, not
 * Node's require). This hook lets Node's require load TypeScript sources by transpiling them
 * (no type check), so the conformance suite runs the sources, not a possibly stale dist/.
 * Loaded only by test files that need it; each vitest fork is its own process.
 */
type Loader = (m: { _compile(code: string, filename: string): void }, filename: string) => void;
const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;

if (!extensions['.ts']) {
  extensions['.ts'] = (m, filename) => {
    const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    });
    m._compile(out.outputText, filename);
  };
}
