import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { treeHooks } from '../harness/gate-ab';
import type { ProcessHooks } from '../harness/coordinator';

/**
 * The A/B gate runs the base tree's processes with that tree's own copy-count interposer: with this
 * tree's in LD_PRELOAD, a base process that spawns a native peer appends its own, and the peer loads
 * two interposers that count every copy twice (shm-c read 2 producer passes for 1).
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'fb-tree-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = { transport: 'shm-c' } as Parameters<ProcessHooks['envFor']>[1];
const ours: ProcessHooks = {
  envFor: () => ({ env: { LD_PRELOAD: '/x/pre.so:/work/this/native/copycount/build/libframebench_copycount.so', FRAMEBENCH_COPYCOUNT: '/dev/shm/p' } }),
};

describe('A/B gate: each tree its own interposer', () => {
  const entry = path.join(root, 'dist', 'harness', 'child.js');
  const lib = path.join(root, 'native', 'copycount', 'build', 'libframebench_copycount.so');

  it("the base tree's processes preload its interposer in place of this tree's, and fork its child module", () => {
    mkdirSync(path.dirname(lib), { recursive: true });
    writeFileSync(lib, '');
    const launch = treeHooks(ours, { label: 'base', childEntry: entry })?.envFor('producer', spec);
    expect(launch?.entry).toBe(entry);
    expect(launch?.env.LD_PRELOAD).toBe(`/x/pre.so:${lib}`);
    expect(launch?.env.FRAMEBENCH_COPYCOUNT).toBe('/dev/shm/p');
  });

  it('this tree (no child module) keeps its hooks as they are; no copy accounting, no LD_PRELOAD added', () => {
    expect(treeHooks(ours, { label: 'head' })).toBe(ours);
    const launch = treeHooks(undefined, { label: 'base', childEntry: entry })?.envFor('consumer', spec);
    expect(launch?.env).toEqual({});
    expect(launch?.entry).toBe(entry);
  });
});
