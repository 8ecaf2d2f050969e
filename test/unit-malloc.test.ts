import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { STEADY_TUNABLES, withMalloc } from '../harness/malloc-env';
import { runCli } from './support/cli';

/**
 * --malloc (harness/malloc-env.ts): 'steady' gives the processes a run starts glibc tunables that keep
 * freed memory; 'default' leaves the environment alone; either way the bench's own environment is
 * what it was afterwards.
 */
const childTunables = (): string => execFileSync(process.execPath, ['-e', 'process.stdout.write(process.env.GLIBC_TUNABLES ?? "")'], { encoding: 'utf8' });

describe('--malloc', () => {
  it("steady: a child process started inside the run gets the tunables, after the run they are gone", async () => {
    const before = process.env.GLIBC_TUNABLES;
    delete process.env.GLIBC_TUNABLES;
    try {
      const seen = await withMalloc('steady', async () => childTunables());
      expect(seen).toBe(STEADY_TUNABLES);
      expect(seen).toContain('glibc.malloc.trim_threshold=');
      expect(process.env.GLIBC_TUNABLES).toBeUndefined();
      // tunables of the user's own are kept, ours appended
      process.env.GLIBC_TUNABLES = 'glibc.malloc.arena_max=2';
      expect(await withMalloc('steady', async () => childTunables())).toBe(`glibc.malloc.arena_max=2:${STEADY_TUNABLES}`);
      expect(process.env.GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2');
    } finally {
      if (before === undefined) delete process.env.GLIBC_TUNABLES;
      else process.env.GLIBC_TUNABLES = before;
    }
  });

  it('default: nothing is set, even when the run throws', async () => {
    const before = process.env.GLIBC_TUNABLES;
    delete process.env.GLIBC_TUNABLES;
    try {
      expect(await withMalloc('default', async () => childTunables())).toBe('');
      await expect(withMalloc('steady', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
      expect(process.env.GLIBC_TUNABLES).toBeUndefined();
    } finally {
      if (before !== undefined) process.env.GLIBC_TUNABLES = before;
    }
  });

  it('an unknown mode is FB_ERR_USAGE, exit 2, before any process starts', async () => {
    const r = await runCli(['run', '--malloc', 'jemalloc', '--transport', 'unix']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^FB_ERR_USAGE: --malloc/);
  });
});
