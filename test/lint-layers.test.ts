import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The layer rule (scripts/eslint/layers.js) as ESLint runs it with the project's own config:
 * an import up the layers fails lint, an import down passes, and every code folder has a layer.
 */
const ROOT = path.resolve(__dirname, '..');
// eslint-plugin modules are CommonJS; the rule's table is what docs/architecture.md describes
const { LAYERS } = require('../scripts/eslint/layers.js') as { LAYERS: Record<string, string[]> };

async function lintAs(file: string, code: string): Promise<ESLint.LintResult> {
  const eslint = new ESLint({ cwd: ROOT });
  const [res] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return res!;
}

const layerErrors = (r: ESLint.LintResult) => r.messages.filter((m) => m.ruleId === 'framebench/layers');

describe('the layer rule', () => {
  const upward: Array<[string, string]> = [
    ['core/planted.ts', "import { runBench } from '../harness/runner';\nexport const x = runBench;\n"],
    ['transports/planted.ts', "import { caseFigures } from '../measure/figures';\nexport const x = caseFigures;\n"],
    ['transports/shm/planted.ts', "import { runCase } from '../../harness/coordinator';\nexport const x = runCase;\n"],
    ['reporters/planted.ts', "import { getTransport } from '../transports/registry';\nexport const x = getTransport;\n"],
    ['harness/planted.ts', "import { renderRun } from '../reporters/registry';\nexport const x = renderRun;\n"],
    ['measure/planted.ts', "export const load = () => require('../harness/runner');\n"],
    ['sources/planted.ts', "export type T = typeof import('../cli/run').runCommand;\n"],
    ['core/planted2.ts', "export { main } from '../cli/main';\n"],
  ];
  it.each(upward)('%s: an upward import fails lint', async (file, code) => {
    const errs = layerErrors(await lintAs(file, code));
    expect(errs, JSON.stringify(errs)).toHaveLength(1);
    expect(errs[0]!.message).toMatch(/may not import/);
  });

  it('imports down the layers and within a layer pass', async () => {
    for (const [file, code] of [
      ['harness/planted.ts', "import { fbError } from '../core/errors';\nimport { getTransport } from '../transports/registry';\nexport const x = [fbError, getTransport];\n"],
      ['cli/planted.ts', "import { renderRun } from '../reporters/registry';\nimport { runBench } from '../harness/runner';\nexport const x = [renderRun, runBench];\n"],
      ['transports/shm/planted.ts', "import { fbError } from '../../core/errors';\nimport { RING } from './layout';\nexport const x = [fbError, RING];\n"],
      ['measure/planted.ts', "import { profileWindow } from '../profile/profile-window';\nexport const x = profileWindow;\n"],
    ] as const) {
      expect(layerErrors(await lintAs(file, code)), file).toEqual([]);
    }
  });

  it('every top-level folder with TypeScript code has a layer', () => {
    const skip = new Set(['node_modules', 'dist', 'test', 'scripts', 'native', 'fixtures', 'docs', 'reports', 'bench', 'bin']);
    const code = readdirSync(ROOT).filter((d) => !d.startsWith('.') && !skip.has(d) && statSync(path.join(ROOT, d)).isDirectory())
      .filter((d) => readdirSync(path.join(ROOT, d), { recursive: true }).some((f) => String(f).endsWith('.ts')));
    expect(code.filter((d) => !(d in LAYERS))).toEqual([]);
  });
});
