import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fbError } from '../core/errors';

/**
 * Another git ref of this repository, checked out and built in a temporary worktree, so
 * `bench gate --against <ref>` can run its producer and consumer processes (its dist/) beside
 * this tree's. Offline: dependencies are the main tree's node_modules (a symlink), or
 * `npm ci --offline` from the local npm cache when the main tree has none; the native addon is
 * copied from this tree when the ref's native sources are the same, else built with node-gyp.
 */
export interface RefTree {
  ref: string;
  commit: string;
  root: string;
  /** The ref's METHODOLOGY_VERSION (1 when it has none). */
  methodology: number;
  /** Its harness/child.js, the module its producers and consumers run. */
  childEntry: string;
  /** Removes the worktree (and git's record of it). */
  remove(): void;
}

function git(repo: string, args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Runs a build step in the ref's tree; its output is kept for the error message. */
function step(what: string, cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw fbError('FB_ERR_GATE_REF', `${what} failed${r.error ? `: ${r.error.message}` : ''}${tail ? `: ${tail}` : ''}`);
  }
}

/** The native sources whose build this tree's native/build can stand in for when unchanged. */
const NATIVE_PATHS = ['native/src', 'native/c', 'native/binding.gyp', 'native/copycount'];

/** The commit `ref` names in the repository at `repo` (FB_ERR_GATE_REF when none). */
export function resolveCommit(repo: string, ref: string): string {
  try {
    return git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  } catch {
    throw fbError('FB_ERR_GATE_REF', `'${ref}' is not a commit of ${repo} (a shallow clone may need: git fetch --deepen=1)`);
  }
}

/** METHODOLOGY_VERSION in a commit's core/result.ts, read from git before anything is built (1 when absent). */
export function methodologyAt(repo: string, commit: string): number {
  try {
    const m = /export const METHODOLOGY_VERSION\s*=\s*(\d+)/.exec(git(repo, ['show', `${commit}:core/result.ts`]));
    return m ? Number(m[1]) : 1;
  } catch {
    return 1;
  }
}

/** A ref tree's directory carries the pid of the gate that made it: framebench-gate-ref-<pid>-XXXXXX. */
const REF_TREE_RE = /[/]framebench-gate-ref-(\d+)-[^/]+$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the ref trees of gates that were killed before they could (SIGKILL, a CI timeout):
 * worktrees of `repo` named like ours whose gate process is gone. Returns the directories removed.
 */
export function removeStaleRefTrees(repo: string): string[] {
  let list: string;
  try {
    list = git(repo, ['worktree', 'list', '--porcelain']);
  } catch {
    return [];
  }
  const stale = list.split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice('worktree '.length))
    .filter((dir) => {
      const m = REF_TREE_RE.exec(dir);
      return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
    });
  for (const dir of stale) {
    try {
      git(repo, ['worktree', 'remove', '--force', dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  try {
    git(repo, ['worktree', 'prune']);
  } catch {
    /* best effort */
  }
  return stale;
}

/** Checks out `ref` of the repository at `repo` into a temporary worktree and builds it. */
export function prepareRefTree(repo: string, ref: string, log: (line: string) => void = () => undefined): RefTree {
  const commit = resolveCommit(repo, ref);
  for (const dir of removeStaleRefTrees(repo)) log(`gate: removed ${dir}, left by a gate that was killed`);
  const root = mkdtempSync(path.join(os.tmpdir(), `framebench-gate-ref-${process.pid}-`));
  rmSync(root, { recursive: true, force: true }); // git worktree add wants to create it
  const remove = (): void => {
    try {
      git(repo, ['worktree', 'remove', '--force', root]);
    } catch {
      rmSync(root, { recursive: true, force: true });
      try {
        git(repo, ['worktree', 'prune']);
      } catch {
        /* best effort */
      }
    }
  };
  try {
    log(`gate: checking out ${ref} (${commit.slice(0, 12)}) in ${root}`);
    try {
      git(repo, ['worktree', 'add', '--detach', '--force', root, commit]);
    } catch (e) {
      throw fbError('FB_ERR_GATE_REF', `git worktree add ${ref}: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`);
    }
    const mainModules = path.join(repo, 'node_modules');
    if (existsSync(mainModules)) {
      rmSync(path.join(root, 'node_modules'), { recursive: true, force: true }); // a committed link, if any
      symlinkSync(realpathSync(mainModules), path.join(root, 'node_modules'), 'dir');
    } else {
      log('gate: no node_modules in this tree; npm ci --offline in the ref tree');
      step('npm ci --offline', 'npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], root);
    }
    log(`gate: building ${ref} (tsc)`);
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    step(`tsc in ${ref}`, process.execPath, [tsc, '-p', 'tsconfig.build.json'], root);
    buildNative(repo, root, commit, ref, log);
    const childEntry = path.join(root, 'dist', 'harness', 'child.js');
    if (!existsSync(childEntry)) throw fbError('FB_ERR_GATE_REF', `${ref} has no dist/harness/child.js after its build`);
    return { ref, commit, root, methodology: methodologyOf(root), childEntry, remove };
  } catch (e) {
    remove();
    throw e;
  }
}

function buildNative(repo: string, root: string, commit: string, ref: string, log: (line: string) => void): void {
  const same = spawnSync('git', ['-C', repo, 'diff', '--quiet', commit, '--', ...NATIVE_PATHS]).status === 0;
  const built = path.join(repo, 'native', 'build', 'Release');
  if (same && existsSync(built)) {
    cpSync(path.join(repo, 'native', 'build'), path.join(root, 'native', 'build'), { recursive: true });
    const cc = path.join(repo, 'native', 'copycount', 'build');
    if (existsSync(cc)) cpSync(cc, path.join(root, 'native', 'copycount', 'build'), { recursive: true });
    return;
  }
  log(`gate: building ${ref}'s native addon (its native sources differ from this tree's)`);
  step(`npm run build:native in ${ref}`, 'npm', ['run', '--silent', 'build:native'], root);
}

/** METHODOLOGY_VERSION of a built tree (1 when it predates the constant). */
export function methodologyOf(root: string): number {
  try {
    const mod = require(path.join(root, 'dist', 'core', 'result.js')) as { METHODOLOGY_VERSION?: number };
    return typeof mod.METHODOLOGY_VERSION === 'number' ? mod.METHODOLOGY_VERSION : 1;
  } catch {
    return 1;
  }
}
