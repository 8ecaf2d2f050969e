import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeStaleRefTrees } from '../harness/worktree';

/**
 * `bench gate --against` checks the ref out in a temporary worktree named after its own pid and
 * removes it when done; a gate killed with SIGKILL cannot. The next gate removes such trees of
 * dead gates, and never a live gate's.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fb-stale-ref-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const git = (repo: string, ...args: string[]): string => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });

describe('ref trees left by killed gates (harness/worktree.ts)', () => {
  it('removes the worktree of a dead gate, keeps a live one\'s and any other worktree', () => {
    const repo = path.join(tmp, 'repo');
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(path.join(repo, 'a'), 'a');
    git(repo, 'add', 'a');
    git(repo, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'a');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its pid is free
    const live = spawn('sleep', ['30']);
    try {
      const deadTree = path.join(tmp, `framebench-gate-ref-${dead}-AbCdEf`);
      const liveTree = path.join(tmp, `framebench-gate-ref-${live.pid}-GhIjKl`);
      const other = path.join(tmp, 'someone-elses');
      for (const d of [deadTree, liveTree, other]) git(repo, 'worktree', 'add', '-q', '--detach', d, 'HEAD');
      expect(removeStaleRefTrees(repo)).toEqual([deadTree]);
      expect(existsSync(deadTree)).toBe(false);
      expect(existsSync(liveTree) && existsSync(other)).toBe(true);
      const listed = git(repo, 'worktree', 'list', '--porcelain');
      expect(listed).not.toContain(deadTree);
      expect(listed).toContain(liveTree);
      expect(removeStaleRefTrees(repo)).toEqual([]);
    } finally {
      live.kill('SIGKILL');
    }
  });
});
